"""Earning rules: the types plugins contribute, and the engine that runs them.

A rule *type* (contributed by a plugin through
``register_earning_rule_types``) decides how many points an event earns
under a given config. A rule *instance* (:class:`loyalty.models.EarningRule`)
is a program's configured use of a type. The engine here evaluates a
program's active rules for one event and turns what they award into whole
points: it applies the rule's minimum order amount, the member's tier
multiplier, and the rule's rounding, so rule types only compute exact
``Decimal`` amounts.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from loyalty.validation import invalid

#: The events an earning rule can apply to.

ROUNDING = {"down": ROUND_FLOOR, "nearest": ROUND_HALF_UP, "up": ROUND_CEILING}


class RuleConfigSchema(Schema):
    """The settings every earning rule has; a rule type's schema extends it."""

    class Meta:
        unknown = RAISE
        ordered = True

    min_order_amount = fields.Decimal(
        load_default=None,
        allow_none=True,
        as_string=True,
        validate=validate.Range(min=0),
        metadata={
            "label": "Minimum order amount",
            "description": "Only orders whose subtotal after discounts reaches this earn (order rules).",
        },
    )
    rounding = fields.String(
        load_default="down",
        validate=validate.OneOf(list(ROUNDING)),
        metadata={
            "label": "Rounding of fractional points",
            "labels": {"down": "Round down", "nearest": "Round to the nearest point", "up": "Round up"},
            "description": "How fractional points become whole.",
        },
    )
    apply_tier_multiplier = fields.Boolean(
        load_default=True,
        metadata={
            "label": "Apply the tier's earn multiplier",
            "description": "Multiply the award by the member's tier earn multiplier.",
        },
    )


def base_rate_field():
    """``points_per_unit`` for multiplier rules: the base rate their multiplier multiplies."""
    return fields.Decimal(
        load_default="1",
        as_string=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "The base rate the multiplier multiplies (match your base rule)."},
    )


@dataclass(frozen=True)
class Award:
    """Points a rule grants for one event, before tier multiplier and rounding.

    ``part`` tells apart several awards of one rule on one event (it is part
    of the idempotency key, so keep it stable for the same input).
    """

    points: Decimal
    reason: str
    part: str = ""


@dataclass(frozen=True)
class LineView:
    id: str
    product_id: str | None
    sku: str | None
    title: str
    quantity: int
    total: Decimal
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderView:
    """The order as rules see it: amounts in the order's currency."""

    external_id: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    shipping: Decimal
    total: Decimal
    lines: tuple[LineView, ...]
    discount_codes: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)

    @property
    def net_subtotal(self) -> Decimal:
        """The subtotal after order-level discounts: what rules earn on by default."""
        return max(self.subtotal - self.discount, Decimal(0))


@dataclass(frozen=True)
class MemberView:
    id: int | None
    external_id: str
    email: str | None
    birthday: date | None
    tier: str | None
    earn_multiplier: Decimal
    #: Paid orders the member had before this event's order.
    previous_paid_orders: int


@dataclass(frozen=True)
class EarningContext:
    """What a rule type's ``evaluate`` receives.

    ``kind`` is one of :data:`loyalty.plugin_contracts.EVENT_KINDS`; ``order`` is set for
    ``order_paid``; ``event_name`` and ``properties`` for ``custom_event``;
    ``occurred_at`` is when the event happened (not when it was processed;
    never ``None``, dry runs included).
    ``count_awards(since)`` says how many awards this rule already posted
    to this member for events that happened at ``since`` or later (for
    caps; see :func:`loyalty.earning.evaluation.count_awards`).
    """

    kind: str
    program_slug: str
    currency: str
    member: MemberView
    occurred_at: datetime
    now: datetime
    order: OrderView | None = None
    event_name: str | None = None
    properties: dict = field(default_factory=dict)
    count_awards: object = None


class EarningRuleType:
    """Base class for rule types; subclass it, or provide the same attributes.

    Set ``name`` (lower_snake_case, unique), ``title``, ``description``,
    ``events`` (a tuple of :data:`loyalty.plugin_contracts.EVENT_KINDS`) and ``schema`` (a subclass of
    :class:`RuleConfigSchema`), and implement :meth:`evaluate`; implement
    :meth:`describe` so shoppers read what a rule of yours earns.
    ``description`` is for the program manager choosing a type; ``describe``
    is for the shopper, about one configured rule.
    """

    name: str = ""
    title: str = ""
    description: str = ""
    events: tuple[str, ...] = ("order_paid",)
    schema: type[Schema] = RuleConfigSchema

    def evaluate(self, context: EarningContext, config: dict) -> list[Award]:
        raise NotImplementedError

    def describe(self, config: dict, currency: str) -> str:
        """What a rule with this config earns, in a shopper's words: ``1 point for every USD 1 spent``.

        One short sentence, no full stop, for the shoppers' "ways to earn"
        list (:func:`loyalty.earning.ways_to_earn.ways_to_earn`). ``config``
        is loaded (:func:`load_config`: ``Decimal`` amounts, datetimes), as
        ``evaluate`` gets it. ``currency`` is the program's: a rate or an
        amount names the money (``USD 1``), as reward types' ``describe``
        does. Leave ``min_order_amount`` out: the platform adds "on orders of
        USD 50 or more" to every order rule's text the same way. Write numbers
        with :func:`~loyalty.wording.plain_number`, :func:`~loyalty.wording.points_text`
        and :func:`~loyalty.wording.money_text` (from :mod:`loyalty.plugin_api`).

        This default says only which kind of rule it is (the ``title``); if
        it raises, the shopper reads the rule's name instead.
        """
        return self.title or self.name.replace("_", " ").capitalize() or "Points"

    def offered(self, config: dict, now) -> bool:
        """Whether shoppers should still read about a rule with this config at ``now`` (a campaign that has
        ended: no longer). Optional; this default says yes, as long as the rule is active."""
        return True


@dataclass(frozen=True)
class ComputedAward:
    """What one rule instance earns for one event, in whole points."""

    rule_id: int | None
    rule_name: str
    rule_type: str
    points: int
    reason: str
    part: str = ""


def validate_config(rule_type, config: dict | None) -> dict:
    """Validate a rule config with its type's schema; return it as stored JSON.

    Raises :class:`~loyalty.errors.InvalidInput` with the schema's messages
    per field.
    """
    schema = rule_type.schema()
    try:
        loaded = schema.load(config or {})
    except ValidationError as exc:
        raise invalid(f"config for rule type {rule_type.name}", exc) from None
    return schema.dump(loaded)


_loaded: dict = {}


def load_config(rule_type, stored: dict) -> dict:
    """A stored config, typed again (Decimals, dates) for ``evaluate``.

    Loading through marshmallow costs more than most rules' arithmetic, and
    a program's rules change rarely, so loaded configs are kept (a changed
    config is a new key). Rules get a copy: what they do to it stays theirs.
    """
    key = (type(rule_type), rule_type.name, json.dumps(stored, sort_keys=True))
    if key not in _loaded:
        if len(_loaded) > 1000:
            _loaded.clear()
        _loaded[key] = rule_type.schema().load(stored)
    return copy.deepcopy(_loaded[key])


def evaluate_rule(rule_type, rule_id, rule_name, stored_config, context: EarningContext) -> list[ComputedAward]:
    """Run one rule on one event: minimum order, the type's own logic, tier multiplier, rounding."""
    if context.kind not in rule_type.events:
        return []
    config = load_config(rule_type, stored_config)
    minimum = config.get("min_order_amount")
    if minimum is not None and context.order is not None and context.order.net_subtotal < minimum:
        return []
    results = []
    for award in rule_type.evaluate(context, config) or []:
        points = Decimal(award.points)
        if config.get("apply_tier_multiplier", True):
            points *= context.member.earn_multiplier
        whole = int(points.to_integral_value(rounding=ROUNDING[config.get("rounding", "down")]))
        if whole > 0:
            results.append(ComputedAward(rule_id, rule_name, rule_type.name, whole, award.reason, award.part))
    return results
