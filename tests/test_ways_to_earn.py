"""Ways to earn: each built-in rule type in a shopper's words, and the list the shoppers' widget shows.

This module is also a plugin (``@pytest.mark.plugins(__name__)``): its rule
types describe badly on purpose (raise, return nothing, keep the default,
have no ``describe`` at all), to show that a plugin's wording never fails
the list: the shopper reads the rule's name instead.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from loyalty.earning.rule_types import load_config, validate_config
from loyalty.earning.rules import update_rule
from loyalty.earning.ways_to_earn import ways_to_earn
from loyalty.models import EarningRule
from loyalty.plugin_api import Award, EarningRuleType, hookimpl, money_text, multiplier_text, plain_number, points_text
from loyalty.programs.program import create_program

pytestmark = pytest.mark.plugins(__name__)


# --- the plugin: rule types that cannot say what they earn --------------------------


class _Flat(EarningRuleType):
    events = ("order_paid",)

    def evaluate(self, context, config):
        return [Award(1, self.name)]


class Raising(_Flat):
    name = "raising_describe"
    title = "Raising describe"

    def describe(self, config, currency):
        raise KeyError("points")


class Blank(_Flat):
    name = "blank_describe"
    title = "Blank describe"

    def describe(self, config, currency):
        return "  "


class Defaulted(_Flat):
    """Subclasses the base and leaves ``describe`` alone: the base says its title."""

    name = "defaulted_describe"
    title = "Mystery bonus"
    events = ("birthday",)


class DuckTyped:
    """Provides the contract's attributes without the base class, as the guide allows, and no ``describe``."""

    name = "duck_typed"
    title = "Duck typed"
    description = ""
    events = ("custom_event",)
    schema = EarningRuleType.schema

    def evaluate(self, context, config):
        return []


@hookimpl
def register_earning_rule_types(register):
    for rule_type in (Raising(), Blank(), Defaulted(), DuckTyped()):
        register(rule_type)


def describe(registry, type_name, config, currency="USD"):
    """What the type says for ``config`` loaded as the platform loads it (validated, stored, loaded again)."""
    kind = registry.earning_rule_types[type_name]
    return kind.describe(load_config(kind, validate_config(kind, config)), currency)


# --- every built-in type, in words ----------------------------------------------------


@pytest.mark.parametrize(
    "config, currency, expected",
    [
        ({"points_per_unit": "1"}, "USD", "1 point for every USD 1 spent"),
        ({"points_per_unit": "1.0000"}, "USD", "1 point for every USD 1 spent"),
        ({"points_per_unit": "2"}, "EUR", "2 points for every EUR 1 spent"),
        ({"points_per_unit": "1.5"}, "USD", "1.5 points for every USD 1 spent"),
        ({"points_per_unit": "0.1"}, "USD", "1 point for every USD 10 spent"),
        ({"points_per_unit": "0.01"}, "JPY", "1 point for every JPY 100 spent"),
        ({"points_per_unit": "0.3"}, "USD", "0.3 points for every USD 1 spent"),
        ({"points_per_unit": "1", "include_tax": True}, "USD", "1 point for every USD 1 spent, tax included"),
        ({"points_per_unit": "1", "include_shipping": True}, "USD", "1 point for every USD 1 spent, shipping included"),
        (
            {"points_per_unit": "1", "include_tax": True, "include_shipping": True, "before_discounts": True},
            "USD",
            "1 point for every USD 1 spent before discounts, tax and shipping included",
        ),
    ],
)
def test_points_per_currency(registry, config, currency, expected):
    assert describe(registry, "points_per_currency", config, currency) == expected


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"categories": ["Sale"], "multiplier": "2"}, "Double points on products in Sale"),
        ({"categories": ["Coffee", "Tea"], "multiplier": "3"}, "Triple points on products in Coffee or Tea"),
        ({"categories": ["A", "B", "C"], "multiplier": "1.5"}, "1.5x points on products in A, B or C"),
        ({"skus": ["CF-1"], "multiplier": "4.00"}, "4x points on selected products"),
        ({"product_ids": ["8123"], "multiplier": "2"}, "Double points on selected products"),
        (
            {"categories": ["Coffee"], "skus": ["TEA-1"], "multiplier": "2"},
            "Double points on products in Coffee and other selected products",
        ),
    ],
)
def test_product_multiplier(registry, config, expected):
    assert describe(registry, "product_multiplier", config) == expected


@pytest.mark.parametrize(
    "starts_at, ends_at, expected",
    [
        # ends_at is exclusive: a campaign ending at midnight ends the day before
        ("2026-12-05T00:00:00+00:00", "2026-12-07T00:00:00+00:00", "from 5 to 6 December 2026"),
        ("2026-12-05T00:00:00+00:00", "2026-12-06T00:00:00+00:00", "on 5 December 2026"),
        ("2026-12-05T09:00:00+00:00", "2026-12-05T17:00:00+00:00", "on 5 December 2026"),
        ("2026-11-27T00:00:00+00:00", "2026-12-01T12:00:00+00:00", "from 27 November to 1 December 2026"),
        ("2026-12-30T00:00:00+01:00", "2027-01-02T00:00:00+01:00", "from 30 December 2026 to 1 January 2027"),
    ],
)
def test_campaign_multiplier(registry, starts_at, ends_at, expected):
    config = {"multiplier": "2", "starts_at": starts_at, "ends_at": ends_at}
    assert describe(registry, "campaign_multiplier", config) == f"Double points on orders {expected}"


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"event_name": "review_written", "points": 25}, "25 points for review written"),
        ({"event_name": "social_follow", "points": 1, "once_only": True}, "1 point for social follow, once"),
        ({"event_name": "review", "points": 5, "limit": 1}, "5 points for review, once a day"),
        ({"event_name": "review", "points": 5, "limit": 2, "per": "week"}, "5 points for review, twice a week"),
        (
            {"event_name": "review", "points": 5, "limit": 3, "per": "month"},
            "5 points for review, up to 3 times a month",
        ),
        ({"event_name": "review", "points": 5, "limit": 3, "once_only": True}, "5 points for review, once"),
    ],
)
def test_custom_event(registry, config, expected):
    assert describe(registry, "custom_event", config) == expected


@pytest.mark.parametrize(
    "type_name, points, expected",
    [
        ("first_order_bonus", 100, "100 points on your first order"),
        ("first_order_bonus", 1, "1 point on your first order"),
        ("signup_bonus", 50, "50 points when you sign up"),
        ("birthday_bonus", 200, "200 points on your birthday"),
        ("birthday_bonus", 1, "1 point on your birthday"),
    ],
)
def test_fixed_bonuses(registry, type_name, points, expected):
    assert describe(registry, type_name, {"points": points}) == expected


def test_every_built_in_type_describes_itself(registry):
    """A new built-in type without its own describe would fall back to its title: this names it."""
    built_in = [
        kind for kind in registry.earning_rule_types.values() if type(kind).__module__.startswith("loyalty.plugins.")
    ]
    assert len(built_in) == 7
    assert [kind.name for kind in built_in if type(kind).describe is EarningRuleType.describe] == []


# --- the list -----------------------------------------------------------------------


def _rows(session, program, registry, clock):
    return [
        (way["name"], way["event"], way["description"])
        for way in ways_to_earn(session, program, registry=registry, clock=clock)
    ]


def test_active_rules_sign_up_first_then_orders_then_the_rest(session, program, registry, add_rule, clock):
    add_rule("birthday_bonus", {"points": 200}, name="Birthday")
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")
    add_rule("custom_event", {"event_name": "review_written", "points": 25}, name="Reviews")
    add_rule("signup_bonus", {"points": 50}, name="Welcome")
    add_rule("first_order_bonus", {"points": 100}, name="First order")
    paused = add_rule("product_multiplier", {"categories": ["Sale"], "multiplier": "2"}, name="Sale")
    update_rule(session, paused, registry, active=False, clock=clock)
    session.commit()

    assert _rows(session, program, registry, clock) == [
        ("Welcome", "enrolled", "50 points when you sign up"),
        ("Base rate", "order_paid", "1 point for every USD 1 spent"),
        ("First order", "order_paid", "100 points on your first order"),
        ("Birthday", "birthday", "200 points on your birthday"),
        ("Reviews", "custom_event", "25 points for review written"),
    ]


def test_each_way_has_the_rule_id_name_type_event_and_description(session, program, registry, add_rule, clock):
    rule = add_rule("signup_bonus", {"points": 50}, name="Welcome")
    assert ways_to_earn(session, program, registry=registry, clock=clock) == [
        {
            "rule_id": rule.id,
            "name": "Welcome",
            "type": "signup_bonus",
            "event": "enrolled",
            "description": "50 points when you sign up",
        }
    ]


def test_a_program_without_rules_has_no_ways_to_earn(session, program, registry, clock):
    assert ways_to_earn(session, program, registry=registry, clock=clock) == []


def test_only_the_programs_own_rules(session, program, registry, add_rule, clock):
    other = create_program(session, slug="other", name="Other", currency="EUR", clock=clock)
    session.commit()
    add_rule("signup_bonus", {"points": 50}, name="Ours")
    add_rule("signup_bonus", {"points": 70}, name="Theirs", target=other)
    assert [way["name"] for way in ways_to_earn(session, program, registry=registry, clock=clock)] == ["Ours"]


def test_money_is_the_programs_currency(session, registry, add_rule, clock):
    yen = create_program(session, slug="jp", name="JP", currency="JPY", clock=clock)
    session.commit()
    add_rule("points_per_currency", {"points_per_unit": "0.01", "min_order_amount": "5000"}, target=yen)
    assert (
        _rows(session, yen, registry, clock)[0][2] == "1 point for every JPY 100 spent, on orders of JPY 5000 or more"
    )


def test_a_rule_whose_type_is_not_installed_is_left_out(session, program, registry, add_rule, clock):
    add_rule("signup_bonus", {"points": 50}, name="Welcome")
    now = clock.now()
    session.add(
        EarningRule(
            program_id=program.id,
            type="uninstalled",
            name="Gone",
            config={},
            active=True,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    assert [way["name"] for way in ways_to_earn(session, program, registry=registry, clock=clock)] == ["Welcome"]


# --- the minimum order amount ---------------------------------------------------------


@pytest.mark.parametrize(
    "type_name, config, expected",
    [
        (
            "points_per_currency",
            {"points_per_unit": "1", "min_order_amount": "50.00"},
            "1 point for every USD 1 spent, on orders of USD 50 or more",
        ),
        (
            "points_per_currency",
            {"points_per_unit": "1", "min_order_amount": "12.5"},
            "1 point for every USD 1 spent, on orders of USD 12.50 or more",
        ),
        (
            "first_order_bonus",
            {"points": 100, "min_order_amount": "30"},
            "100 points on your first order, on orders of USD 30 or more",
        ),
        (
            "product_multiplier",
            {"categories": ["Sale"], "multiplier": "2", "min_order_amount": "75.00"},
            "Double points on products in Sale, on orders of USD 75 or more",
        ),
        # A minimum of 0 is every order; and only order events have orders, so other rules never say it.
        ("points_per_currency", {"points_per_unit": "1", "min_order_amount": "0"}, "1 point for every USD 1 spent"),
        ("signup_bonus", {"points": 50, "min_order_amount": "50"}, "50 points when you sign up"),
        ("birthday_bonus", {"points": 200, "min_order_amount": "50"}, "200 points on your birthday"),
    ],
)
def test_the_minimum_order_amount_is_said_once_for_every_order_rule(
    session, program, registry, add_rule, type_name, config, expected, clock
):
    add_rule(type_name, config, name="Rule")
    assert _rows(session, program, registry, clock)[0][2] == expected


# --- when a type cannot say ------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["raising_describe", "blank_describe", "duck_typed"])
def test_a_type_that_cannot_describe_shows_the_rules_name_and_warns(
    session, program, registry, add_rule, caplog, type_name, clock
):
    add_rule("signup_bonus", {"points": 50}, name="Welcome")
    add_rule(type_name, {"min_order_amount": "50"}, name="Their rule")
    with caplog.at_level(logging.WARNING, logger="loyalty.earning.ways_to_earn"):
        rows = _rows(session, program, registry, clock)
    assert [row[2] for row in rows] == ["50 points when you sign up", "Their rule"]
    assert f"(type {type_name}) could not be described" in caplog.text


def test_a_type_that_keeps_the_default_says_its_title(session, program, registry, add_rule, clock):
    add_rule("defaulted_describe", {}, name="Birthday surprise")
    assert _rows(session, program, registry, clock) == [("Birthday surprise", "birthday", "Mystery bonus")]


def test_a_stored_config_its_schema_no_longer_loads_shows_the_rules_name(
    session, program, registry, add_rule, caplog, clock
):
    """A plugin upgraded with a stricter schema must not take the list down with the rules it stored before."""
    rule = add_rule("signup_bonus", {"points": 50}, name="Welcome")
    rule.config = {**rule.config, "points": "many"}
    session.commit()
    with caplog.at_level(logging.WARNING, logger="loyalty.earning.ways_to_earn"):
        assert _rows(session, program, registry, clock) == [("Welcome", "enrolled", "Welcome")]
    assert "could not be described" in caplog.text


# --- the wording helpers --------------------------------------------------------------


@pytest.mark.parametrize(
    "number, expected",
    [(Decimal("1.0000"), "1"), (Decimal("1.50"), "1.5"), (Decimal("5E+2"), "500"), (Decimal("-0"), "0"), (7, "7")],
)
def test_plain_number(number, expected):
    assert plain_number(number) == expected


def test_points_text():
    assert [points_text(n) for n in (1, Decimal("1.000"), 2, Decimal("0.5"))] == [
        "1 point",
        "1 point",
        "2 points",
        "0.5 points",
    ]


@pytest.mark.parametrize(
    "amount, currency, expected",
    [
        (Decimal("50.00"), "USD", "USD 50"),
        (Decimal("12.5"), "USD", "USD 12.50"),
        (Decimal("0.125"), "USD", "USD 0.125"),
        (Decimal("1000"), "JPY", "JPY 1000"),
        (Decimal("1.5"), "KWD", "KWD 1.500"),
    ],
)
def test_money_text(amount, currency, expected):
    assert money_text(amount, currency) == expected


def test_multiplier_text():
    assert [multiplier_text(Decimal(m)) for m in ("2", "3.00", "1.5", "10")] == [
        "Double points",
        "Triple points",
        "1.5x points",
        "10x points",
    ]


def test_a_campaign_is_listed_until_it_ends(session, program, registry, add_rule, clock):
    add_rule(
        "campaign_multiplier",
        {"multiplier": "2", "starts_at": "2026-01-05T00:00:00+00:00", "ends_at": "2026-01-07T00:00:00+00:00"},
        name="Double days",
    )
    listed = lambda: [way["name"] for way in ways_to_earn(session, program, registry=registry, clock=clock)]  # noqa: E731
    assert listed() == ["Double days"]  # upcoming (the clock is at 1 January)
    clock.advance(timedelta(days=5))
    assert listed() == ["Double days"]  # running
    clock.advance(timedelta(days=1))
    assert listed() == []  # ended at midnight on the 7th
