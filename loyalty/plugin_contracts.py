"""What each kind of registered type must be, checked when plugins load.

docs/plugins.md promises that a plugin registering a malformed type stops
the start with an error naming it. Checking only that the attributes
exist let through types that load and then fail on first use (a reward
type without ``issue`` raised ``NotImplementedError`` at the first
redemption, a tier scheme without ``qualifying_values`` at the first
order). So every kind is checked here the same way, from one table:

* the required attributes exist;
* the methods the platform calls are callable, and the ones a base class
  leaves to plugins (they raise ``NotImplementedError`` there) are
  implemented;
* the attributes have the documented type and values (``events`` among
  the event kinds, ``metric`` one of :data:`METRICS`, ``variable`` a
  bool, ``schema`` a subclass of the kind's base schema, ...).

:func:`problems` returns sentences; :mod:`loyalty.registry` turns them into
a :class:`~loyalty.registry.PluginError` that names the plugin.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

#: What a tier scheme's value counts; shown with a member's progress (API, CLI).
METRICS = ("points", "amount", "orders")

#: What an earning rule type can apply to (its ``events``): part of the rule-type contract, kept
#: here so that checking a plugin needs nothing from the earning package.
EVENT_KINDS = ("order_paid", "enrolled", "birthday", "custom_event")


@dataclass(frozen=True)
class Contract:
    #: The attributes a type must have (hasattr).
    required: tuple[str, ...]
    #: Methods the platform calls: each must be callable.
    methods: tuple[str, ...]
    #: Of those, the ones the base class does not implement (where ``base`` names it).
    abstract: tuple[str, ...] = ()
    #: ``"module:Class"`` of the base class, and of the base schema (or None).
    base: str | None = None
    base_schema: str | None = None


CONTRACTS = {
    "earning_rule_types": Contract(
        ("name", "title", "schema", "events", "evaluate"),
        ("evaluate",),
        ("evaluate",),
        "loyalty.earning.rule_types:EarningRuleType",
        "loyalty.earning.rule_types:RuleConfigSchema",
    ),
    "tier_schemes": Contract(
        ("name", "title", "schema", "metric", "qualifying_values"),
        ("qualifying_values",),
        ("qualifying_values",),
        "loyalty.tiers.schemes:TierScheme",
        "loyalty.tiers.schemes:TierSchemeSchema",
    ),
    "reward_types": Contract(
        ("name", "title", "schema", "variable", "issue", "cancel"),
        ("issue", "cancel", "check_pricing", "describe"),
        ("issue",),
        "loyalty.rewards.types:RewardType",
        "loyalty.rewards.types:RewardConfigSchema",
    ),
    "storefronts": Contract(
        ("name", "title", "verify", "delivery_id", "topic", "parse", "is_ping", "stored_headers"),
        ("verify", "delivery_id", "topic", "parse", "is_ping"),
        ("verify", "delivery_id", "topic", "parse"),
        "loyalty.storefronts.adapters:StorefrontAdapter",
        None,
    ),
    "referral_checks": Contract(
        ("name", "title", "schema", "default_action", "check"),
        ("check",),
        ("check",),
        "loyalty.referrals.checks:ReferralCheck",
        "loyalty.referrals.checks:ReferralCheckSchema",
    ),
    "notification_channels": Contract(
        ("name", "title", "schema", "audience", "templates", "digests", "send"),
        ("send", "accepts", "unavailable", "refuses"),
        ("send",),
        "loyalty.messages.channels:NotificationChannel",
        "loyalty.messages.channels:ChannelConfigSchema",
    ),
}

#: Whom a notification channel addresses (its ``audience``).
AUDIENCES = ("program", "member")


def _load(path: str):
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _not_implemented(item, method: str, base) -> bool:
    """Whether ``item``'s ``method`` is still the base class's stub (it raises NotImplementedError)."""
    stub = base.__dict__.get(method)
    found = getattr(type(item), method, None) if not isinstance(item, type) else getattr(item, method, None)
    return stub is not None and found is stub


def problems(kind: str, item) -> list[str]:
    """What is wrong with ``item`` as a ``kind`` type (empty when nothing): sentences naming the attribute."""
    contract = CONTRACTS[kind]
    missing = [attr for attr in contract.required if not hasattr(item, attr)]
    if missing:
        what = kind[:-1].replace("_", " ")
        return [f"registered {'an' if what[0] in 'aeiou' else 'a'} {what} without {', '.join(missing)}"]
    name = item.name
    if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name.islower():
        return [f"type name {name!r} must be lower_snake_case"]
    found = []
    if not isinstance(item.title, str) or not item.title.strip():
        found.append(f"{name}.title must be a non-empty string")
    base = _load(contract.base) if contract.base else None
    for method in contract.methods:
        if not callable(getattr(item, method, None)):
            found.append(f"{name}.{method} must be a method")
        elif base is not None and method in contract.abstract and _not_implemented(item, method, base):
            found.append(f"{name} does not implement {method}")
    if "schema" in contract.required:
        schema, expected = item.schema, _load(contract.base_schema)
        if not (isinstance(schema, type) and issubclass(schema, Schema)):
            found.append(f"{name}.schema must be a marshmallow Schema class")
        elif not issubclass(schema, expected):
            found.append(f"{name}.schema must subclass {expected.__module__}.{expected.__name__}")
    if kind == "earning_rule_types":
        events = item.events
        if isinstance(events, str) or not isinstance(events, (tuple, list, set, frozenset)) or not events:
            found.append(f"{name}.events must be a non-empty tuple of {', '.join(EVENT_KINDS)}")
        elif unknown := [event for event in events if event not in EVENT_KINDS]:
            found.append(f"{name}.events has {', '.join(map(repr, unknown))}: events are {', '.join(EVENT_KINDS)}")
    if kind == "tier_schemes" and item.metric not in METRICS:
        found.append(f"{name}.metric is {item.metric!r}: it must be one of {', '.join(METRICS)}")
    if kind == "notification_channels":
        if item.audience not in AUDIENCES:
            found.append(f"{name}.audience is {item.audience!r}: it must be one of {', '.join(AUDIENCES)}")
        for attr in ("templates", "digests"):
            if not hasattr(getattr(item, attr), "get"):
                found.append(f"{name}.{attr} must be a mapping of event types")
    if kind == "reward_types" and not isinstance(item.variable, bool):
        found.append(f"{name}.variable must be True or False")
    if kind == "storefronts":
        headers = item.stored_headers
        if (
            isinstance(headers, str)
            or not isinstance(headers, (tuple, list))
            or not all(isinstance(h, str) and h == h.lower() for h in headers)
        ):
            found.append(f"{name}.stored_headers must be a tuple of lower-case header names")
    if kind == "referral_checks" and item.default_action not in ("reject", "flag"):
        found.append(f"{name}.default_action must be 'reject' or 'flag'")
    return found
