"""Ways to earn: a program's active earning rules, each in a shopper's words.

What the shoppers' widget lists ("50 points when you sign up", "1 point for
every USD 1 spent"). The words come from each rule type's ``describe``; a
plugin's text must never take the page down, so a type without one, or
whose ``describe`` fails, is shown by the rule's name (and logged). The
minimum order amount is every order rule's setting, so it is worded here,
once, not by each type.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from loyalty.clock import Clock
from loyalty.earning.rule_types import load_config
from loyalty.earning.rules import list_rules
from loyalty.models import EarningRule, Program
from loyalty.wording import money_text

log = logging.getLogger(__name__)

#: The order shoppers read the rules in: joining, then shopping, then the rest.
EVENT_ORDER = ("enrolled", "order_paid", "birthday", "custom_event")


def ways_to_earn(session: Session, program: Program, *, registry, clock: Clock) -> list[dict]:
    """The program's active rules as ``{"rule_id", "name", "type", "event", "description"}``.

    ``event`` is the event the rule is listed under (the first of
    :data:`EVENT_ORDER` among its type's ``events``); rules come sign-up
    first, then orders, birthdays and custom events, oldest first within
    each. Paused rules and rules whose type is not installed are left out,
    as the pipeline leaves them out; so are rules their type no longer
    offers at the clock's time (``offered``: a campaign that has ended).
    """
    ways = []
    for rule in list_rules(session, program, active_only=True):
        kind = registry.earning_rule_types.get(rule.type)
        if kind is None or not _offered(kind, rule, clock.now()):
            continue
        event = _listed_under(kind.events)
        ways.append(
            {
                "rule_id": rule.id,
                "name": rule.name,
                "type": rule.type,
                "event": event,
                "description": describe_rule(kind, rule, program.currency),
            }
        )
    return sorted(ways, key=lambda way: _rank(way["event"]))


def _offered(kind, rule: EarningRule, now) -> bool:
    """The type's ``offered``; a plugin without one (or one that raises) offers its active rules."""
    try:
        return bool(getattr(kind, "offered", lambda config, now: True)(load_config(kind, rule.config or {}), now))
    except Exception:
        log.warning("rule %s (%s): offered() failed; listing the rule", rule.id, rule.type, exc_info=True)
        return True


def describe_rule(kind, rule: EarningRule, currency: str) -> str:
    """The rule's text from its type, with its minimum order; the rule's name if the type cannot say."""
    try:
        config = load_config(kind, rule.config or {})
        text = kind.describe(config, currency)
        if not isinstance(text, str) or not text.strip():
            raise TypeError(f"describe returned {text!r}, not a sentence")
    except Exception:
        # A plugin's bug (or a config its newer schema no longer loads) costs one line's words, not the page.
        log.warning(
            "earning rule %s (type %s) could not be described; showing its name", rule.id, rule.type, exc_info=True
        )
        return rule.name
    return with_minimum(text.strip(), kind.events, config, currency)


def with_minimum(text: str, events, config: dict, currency: str) -> str:
    """``text, on orders of USD 50 or more`` when an order rule has a minimum order amount.

    The platform skips orders below ``min_order_amount`` only for order
    events, so only order rules say it; a minimum of 0 is every order.
    """
    minimum = config.get("min_order_amount")
    if "order_paid" not in events or minimum is None or minimum <= 0:
        return text
    return f"{text}, on orders of {money_text(minimum, currency)} or more"


def _listed_under(events) -> str:
    return min(events, key=_rank) if events else ""


def _rank(event: str) -> int:
    return EVENT_ORDER.index(event) if event in EVENT_ORDER else len(EVENT_ORDER)
