"""Earning: normalized events, the rule-type contract, a program's rules, and the pipeline that turns events into points.

* :mod:`.events`: the event shapes adapters, the API and the CLI build;
* :mod:`.event_schemas` and :mod:`.event_checks`: events from JSON, and what an event must be before anything is written;
* :mod:`.rule_types`: what a rule type (a plugin) is given and returns;
* :mod:`.rules`: a program's configured rules;
* :mod:`.pipeline`: one event into members, orders and ledger entries;
* :mod:`.batch`: a worker's batch of paid orders, set-based.
"""
