"""Earning rules written as a third party writes them, from docs/plugins.md alone.

This module is the plugin: its hook implementation registers the rule
types below, and the tests load it the documented way, through the
``PLUGINS`` setting (``@pytest.mark.plugins(__name__)``). Then they check
what the guide promises a rule: ``count_awards`` counts the rule's awards
by when the earning events happened, for every event kind and on the
worker's set-based path too; a dry run gives the same context shape as a
real run; a rule that raises in a dry run is named, not a 500.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from marshmallow import fields, validate

from loyalty.plugin_api import Award, Customer, CustomEvent, EarningRuleType, RuleConfigSchema, hookimpl
from loyalty.testing import order_paid
from tests.helpers import available

pytestmark = pytest.mark.plugins(__name__)


# --- the plugin ---------------------------------------------------------------------


class CappedBonusConfig(RuleConfigSchema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    days = fields.Integer(load_default=30, strict=True, validate=validate.Range(min=1))


class CappedBonus(EarningRuleType):
    """A bonus per order or custom event, at most ``limit`` times per member in ``days`` days."""

    name = "capped_bonus"
    title = "Capped bonus"
    events = ("order_paid", "custom_event")
    schema = CappedBonusConfig

    def evaluate(self, context, config):
        since = context.occurred_at - timedelta(days=config["days"])
        if context.count_awards(since) >= config["limit"]:
            return []
        return [Award(config["points"], "capped bonus")]


class DateStamp(EarningRuleType):
    """Uses what the guide says every context has: ``occurred_at`` arithmetic and ``member.id``."""

    name = "date_stamp"
    title = "Date stamp"
    events = ("order_paid",)

    def evaluate(self, context, config):
        weekday = (context.occurred_at - timedelta(days=1)).isoweekday()
        return [Award(1 + context.member.id * 0, f"member #{context.member.id:d}, day {weekday}")]


class Exploding(EarningRuleType):
    name = "exploding"
    title = "Exploding"

    def evaluate(self, context, config):
        raise RuntimeError("the rule's own bug")


@hookimpl
def register_earning_rule_types(register):
    register(CappedBonus())
    register(DateStamp())
    register(Exploding())


# --- count_awards -------------------------------------------------------------------


def _capped(add_rule, limit=2):
    return add_rule("capped_bonus", {"points": 10, "limit": limit, "days": 30}, name="Capped")


def test_an_order_rule_that_caps_itself_holds_its_cap(add_rule, push, session, program, clock):
    """count_awards counted only entries sourced from a rule; order awards are sourced from the order: 0 always."""
    _capped(add_rule)
    earned = [push(order_paid("20.00", order_id=f"o{n}", occurred_at=clock.now())).points for n in range(4)]
    assert earned == [10, 10, 0, 0]
    assert available(session, program, "c-1") == 20


def test_awards_count_by_when_the_orders_happened_not_when_they_were_posted(add_rule, push, clock):
    """It compared with the posting time: orders backdated outside the window counted against the cap."""
    _capped(add_rule)
    old = clock.now() - timedelta(days=45)
    assert [push(order_paid("20.00", order_id=f"old{n}", occurred_at=old)).points for n in range(2)] == [10, 10]
    # Both old awards happened 45 days ago, outside this order's 30 days: they do not count.
    assert push(order_paid("20.00", order_id="new1", occurred_at=clock.now())).points == 10
    assert push(order_paid("20.00", order_id="new2", occurred_at=clock.now())).points == 10
    assert push(order_paid("20.00", order_id="new3", occurred_at=clock.now())).points == 0


def test_custom_event_awards_count_by_when_the_events_happened(add_rule, push, clock):
    _capped(add_rule, limit=1)
    ann = Customer("c-1")
    old = clock.now() - timedelta(days=60)
    assert push(CustomEvent("e1", ann, "review", occurred_at=old)).points == 10
    assert push(CustomEvent("e2", ann, "review", occurred_at=clock.now())).points == 10
    assert push(CustomEvent("e3", ann, "review", occurred_at=clock.now())).points == 0


def test_the_workers_set_based_path_counts_the_same(add_rule, push, session, program, registry, clock):
    from loyalty.earning.batch import process_together

    _capped(add_rule)
    for name in ("c-1", "c-2"):
        push(order_paid("1.00", customer=name, order_id=f"{name}-first", occurred_at=clock.now()))
    push(order_paid("1.00", customer="c-1", order_id="c-1-second", occurred_at=clock.now()))
    push(order_paid("1.00", customer="c-2", order_id="c-2-second", occurred_at=clock.now() - timedelta(days=40)))
    batch = [
        order_paid("1.00", customer=name, order_id=f"{name}-third", occurred_at=clock.now()) for name in ("c-1", "c-2")
    ]
    handed = []
    outcomes = process_together(session, program, batch, registry=registry, clock=clock, one_by_one=handed.append)
    session.commit()
    assert not handed and all(outcome is not None for outcome in outcomes)  # both went the set-based way
    # c-1 has two awards in the window: capped. c-2's second order happened 40 days ago: one in the window.
    assert [outcome.points for outcome in outcomes] == [0, 10]


# --- dry runs -----------------------------------------------------------------------


def test_a_dry_run_from_the_cli_gives_rules_a_whole_context(add_rule, runner, program):
    """``loyalty orders simulate --file docs/examples/order.json`` crashed: occurred_at was None."""
    from tests.helpers import ROOT

    add_rule("date_stamp", {}, name="Stamp")
    result = runner.invoke(
        args=["orders", "simulate", "--program", "acme", "--file", str(ROOT / "docs" / "examples" / "order.json")]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and result.exception is None
    # cust-ann is no member yet: a dry run shows them as member #0, never None.
    assert "1  Stamp (date_stamp): member #0, day" in result.output


def test_a_dry_run_for_a_member_gives_their_id(add_rule, runner, program, member, tmp_path):
    add_rule("date_stamp", {}, name="Stamp")
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "type": "order_paid",
                "order_id": "9",
                "currency": "USD",
                "subtotal": "5.00",
                "total": "5.00",
                "customer": {"external_id": "c-1"},
            }
        )
    )
    result = runner.invoke(args=["orders", "simulate", "--program", "acme", "--file", str(order), "--member", "c-1"])
    assert result.exit_code == 0, result.output
    assert f"member #{member.id}, day" in result.output


def test_a_rule_that_raises_in_a_dry_run_is_named(add_rule, runner, program):
    add_rule("exploding", {}, name="Boom")
    result = runner.invoke(args=["orders", "simulate", "--program", "acme", "--file", "docs/examples/order.json"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "rule 'Boom' (type exploding, plugin tests.test_third_party_rules) failed" in result.output
    assert "RuntimeError: the rule's own bug" in result.output


class TestTryItInTheAdmin:
    @pytest.fixture
    def manager(self, app, users):
        from tests.helpers.admin import signed_in

        return signed_in(app, "manager@example.com")

    @pytest.fixture
    def users(self, session, program, clock):
        from loyalty.access.admin_users import create_admin
        from tests.helpers.admin import PASSWORD

        create_admin(session, email="manager@example.com", password=PASSWORD, role="manager", clock=clock)
        session.commit()

    def test_try_a_third_party_rule(self, manager):
        """It answered 500: the sample order has no occurred_at, and its customer is no member."""
        tried = manager.post(
            "/admin/acme/rules/new?type=date_stamp", {"name": "Stamp", "order.subtotal": "30.00", "action": "try"}
        )
        assert tried.status_code == 200
        assert "This order would earn 1 points" in tried.get_data(as_text=True)

    def test_try_a_rule_that_raises(self, manager):
        tried = manager.post(
            "/admin/acme/rules/new?type=exploding", {"name": "Boom", "order.subtotal": "30.00", "action": "try"}
        )
        assert tried.status_code == 200
        page = tried.get_data(as_text=True)
        assert "Cannot try it: rule &#39;Boom&#39; (type exploding, plugin tests.test_third_party_rules) failed" in page
