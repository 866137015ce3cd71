"""Earning: normalized events, the rule-type contract, a program's rules, and the pipeline that turns events into points.

* :mod:`.events`: the event shapes adapters, the API and the CLI build;
* :mod:`.event_schemas` and :mod:`.event_checks`: events from JSON, and what an event must be before anything is written;
* :mod:`.rule_types`: what a rule type (a plugin) is given and returns;
* :mod:`.rules`: a program's configured rules;
* :mod:`.pipeline`: one event into members, orders and ledger entries (its module docstring tells the steps);
* :mod:`.orders`: order bookkeeping (an order's money checked, its row, what it earned);
* :mod:`.refunds`: refund arithmetic (what is refundable, the proportional claw-back);
* :mod:`.custom_events`: a custom event's id recorded once;
* :mod:`.evaluation`: running a rule (the member as rules see them, the awards a rule posted);
* :mod:`.simulate`: what an order would earn, written nowhere;
* :mod:`.batch`: a worker's batch of paid orders, set-based.
"""
