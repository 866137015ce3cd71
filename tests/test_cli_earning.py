"""The earning commands: rules, tiers, events, dry runs, plugins."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from loyalty.models import EarningRule
from tests.helpers import snapshot
from tests.helpers.cli import fails, ok

ORDER = {
    "type": "order_paid",
    "order_id": "1001",
    "currency": "USD",
    "subtotal": "80.00",
    "total": "86.40",
    "tax": "6.40",
    "customer": {"external_id": "c-1", "email": "ann@example.com"},
    "lines": [{"id": "1", "sku": "COFFEE", "title": "Coffee", "total": "80.00"}],
}


@pytest.fixture
def acme(runner):
    ok(runner, "programs", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD")


@pytest.fixture
def order_file(tmp_path):
    def write(data, name="event.json"):
        path = tmp_path / name
        path.write_text(json.dumps(data))
        return str(path)

    return write


def test_rules_add_list_update_pause_resume(runner, acme):
    added = ok(
        runner,
        "rules",
        "add",
        "--program",
        "acme",
        "--type",
        "points_per_currency",
        "--name",
        "Base",
        "--config",
        '{"points_per_unit": "2"}',
    )
    assert "Added rule 1: Base (points_per_currency)" in added
    assert '"rounding": "down"' in added  # defaults are stored, so the rule never changes under you
    assert "active" in ok(runner, "rules", "list", "--program", "acme")
    ok(runner, "rules", "update", "--program", "acme", "1", "--config", '{"points_per_unit": "3"}')
    assert '"points_per_unit": "3"' in ok(runner, "rules", "list", "--program", "acme")
    assert "paused" in ok(runner, "rules", "pause", "--program", "acme", "1")
    assert "paused" in ok(runner, "rules", "list", "--program", "acme")
    assert "active" in ok(runner, "rules", "resume", "--program", "acme", "1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--type", "points_per_currency", "--config", "{}"], "points_per_unit: Missing data for required field."),
        (["--type", "points_per_currency", "--config", '{"points_per_unit": "x"}'], "Not a valid number"),
        (["--type", "points_per_currency", "--config", "not json"], "not valid JSON"),
        (["--type", "points_per_currency", "--config", "[1]"], "JSON object"),
        (["--type", "nope", "--config", "{}"], "unknown_rule_type"),
    ],
)
def test_a_rejected_config_says_why_and_stores_nothing(runner, acme, session, args, message):
    output = fails(runner, "rules", "add", "--program", "acme", "--name", "R", *args)
    assert message in output
    assert session.scalar(select(func.count()).select_from(EarningRule)) == 0


def test_rule_types_lists_settings(runner, app):
    output = ok(runner, "rules", "types")
    assert "points_per_currency: Points per currency unit (on order_paid)" in output
    assert "points_per_unit (required)" in output and "min_order_amount" in output
    # defaults as typed: no Python reprs (a list default is marshmallow's callable `list`)
    assert "skus (default none)" in output and "rounding (default down)" in output
    assert "include_tax (default no)" in output and "points_per_unit (default 1)" in output
    assert "<class" not in output and "Decimal(" not in output and "(default '" not in output


def test_events_push_and_members_show(runner, acme, order_file):
    ok(
        runner,
        "rules",
        "add",
        "--program",
        "acme",
        "--type",
        "points_per_currency",
        "--name",
        "Base",
        "--config",
        '{"points_per_unit": "1"}',
    )
    assert "order_paid: processed (member c-1), +80 points" in ok(
        runner, "events", "push", "--program", "acme", "--file", order_file(ORDER)
    )
    assert "order_paid: duplicate" in ok(runner, "events", "push", "--program", "acme", "--file", order_file(ORDER))
    refund = {"type": "order_refunded", "order_id": "1001", "refund_id": "r1", "amount": "43.20", "currency": "USD"}
    assert "-40 points" in ok(runner, "events", "push", "--program", "acme", "--file", order_file(refund, "r.json"))
    assert "Available 40" in ok(runner, "members", "show", "--program", "acme", "c-1")


@pytest.mark.parametrize(
    "data, message",
    [
        ({**ORDER, "total": 86.4}, None),  # JSON numbers are read as Decimal, never float
        ({**ORDER, "currency": "EUR"}, "EUR"),
        ({**ORDER, "unexpected": 1}, "Unknown field"),
        ({"type": "order_teleported"}, "event type must be one of"),
        ({**ORDER, "total": "1.234"}, "decimal places"),
        (
            {"type": "order_refunded", "order_id": "9", "refund_id": "r", "amount": "1.00", "currency": "USD"},
            "order_not_found",
        ),
        # Values that would not fit the database (issue 15): refused by the pipeline's checks.
        ({**ORDER, "order_id": "9" * 300}, "order_id is 300 characters long"),
        ({**ORDER, "customer": {"external_id": "c-\x00"}}, "customer.external_id must not contain NUL"),
        ({**ORDER, "total": "1e30", "subtotal": "1e30"}, "larger than any order"),
        ({**ORDER, "occurred_at": "9999-12-31T23:59:59-14:00"}, "between the years"),
        ({"type": {"an": "object"}}, "event type must be one of"),
        ({**ORDER, "subtotal": "lots"}, "invalid order_paid event: subtotal: Not a valid number."),
    ],
)
def test_bad_events_say_why_and_change_nothing(runner, acme, session, order_file, data, message):
    before = snapshot(session)
    session.rollback()
    result = runner.invoke(args=["events", "push", "--program", "acme", "--file", order_file(data)])
    if message is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1 and message in result.output, result.output
    assert snapshot(session) == before


def test_events_nested_thousands_deep_say_why(runner, acme, session, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(args=["events", "push", "--program", "acme", "--file", str(path)])
    assert result.exit_code == 1 and "nested too deeply" in result.output and "Traceback" not in result.output


def test_orders_simulate_is_a_dry_run(runner, acme, session, order_file):
    ok(
        runner,
        "rules",
        "add",
        "--program",
        "acme",
        "--type",
        "points_per_currency",
        "--name",
        "Base",
        "--config",
        '{"points_per_unit": "1", "include_tax": true}',
    )
    before = snapshot(session)
    session.rollback()
    output = ok(
        runner,
        "orders",
        "simulate",
        "--program",
        "acme",
        "--file",
        order_file(ORDER),
        "--rule",
        '{"type": "product_multiplier", "name": "Coffee x2", "config": {"multiplier": "2", "skus": ["COFFEE"]}}',
    )
    assert "86  Base (points_per_currency)" in output
    assert "80  Coffee x2 (product_multiplier)" in output
    assert "166  in total (nothing was posted)" in output
    assert snapshot(session) == before
    only = ok(runner, "orders", "simulate", "--program", "acme", "--file", order_file(ORDER), "--only-drafts")
    assert "would earn no points" in only


def test_tiers_and_set_tier(runner, acme, order_file):
    ok(runner, "tiers", "add", "--program", "acme", "--name", "Gold", "--rank", "2", "--earn-multiplier", "1.5")
    assert "Gold" in ok(runner, "tiers", "list", "--program", "acme")
    assert "already has a tier" in fails(runner, "tiers", "add", "--program", "acme", "--name", "Gold", "--rank", "3")
    assert "above 0" in fails(
        runner, "tiers", "add", "--program", "acme", "--name", "X", "--rank", "4", "--earn-multiplier", "0"
    )
    ok(runner, "members", "add", "--program", "acme", "--external-id", "c-1")
    ok(runner, "members", "set-tier", "--program", "acme", "c-1", "--tier", "Gold")
    assert "unknown_tier" in fails(runner, "members", "set-tier", "--program", "acme", "c-1", "--tier", "Platinum")
    ok(
        runner,
        "rules",
        "add",
        "--program",
        "acme",
        "--type",
        "points_per_currency",
        "--name",
        "Base",
        "--config",
        '{"points_per_unit": "1"}',
    )
    assert "+120 points" in ok(runner, "events", "push", "--program", "acme", "--file", order_file(ORDER))
    assert "tier Gold" in ok(runner, "members", "show", "--program", "acme", "c-1")


def test_signup_bonus_through_members_add(runner, acme):
    ok(
        runner,
        "rules",
        "add",
        "--program",
        "acme",
        "--type",
        "signup_bonus",
        "--name",
        "Welcome",
        "--config",
        '{"points": 25}',
    )
    assert "25 points on joining" in ok(runner, "members", "add", "--program", "acme", "--external-id", "c-9")


def test_programs_update_return_window(runner, acme):
    assert "return window 14 days" in ok(runner, "programs", "update", "--slug", "acme", "--return-window-days", "14")
    assert "0 to 365" in fails(runner, "programs", "update", "--slug", "acme", "--return-window-days", "-1")


def test_a_programs_time_zone(runner, acme):
    assert "time zone UTC" in ok(runner, "programs", "update", "--slug", "acme")  # the default
    assert "time zone Europe/Paris" in ok(runner, "programs", "update", "--slug", "acme", "--timezone", "Europe/Paris")
    for bad in ("Europe/Atlantis", "", "posix/Europe/Paris", "../../etc/passwd", "UTC\x00"):
        assert "unknown time zone" in fails(runner, "programs", "update", "--slug", "acme", "--timezone", bad)
    assert "Europe/Paris" in ok(runner, "programs", "list")  # nothing changed
    ok(runner, "programs", "create", "--slug", "tokyo", "--name", "T", "--currency", "JPY", "--timezone", "Asia/Tokyo")
    assert "Asia/Tokyo" in ok(runner, "programs", "list")


def test_programs_update_expiring_notice(runner, acme):
    assert "members told 14 days before" in ok(runner, "programs", "update", "--slug", "acme")  # the default
    assert "members told 3 days before" in ok(
        runner, "programs", "update", "--slug", "acme", "--expiring-notice-days", "3"
    )
    assert "members never told" in ok(runner, "programs", "update", "--slug", "acme", "--expiring-notice-days", "0")
    for bad in ("-1", "366", "99999999999999999999"):
        assert "Error" in fails(runner, "programs", "update", "--slug", "acme", "--expiring-notice-days", bad)
    assert "members never told" in ok(runner, "programs", "update", "--slug", "acme")  # nothing changed


def test_plugins_command(runner, app):
    output = ok(runner, "plugins")
    assert "loyalty.plugins.earning.points_per_currency (built-in)" in output
    assert "earning rule types: points_per_currency" in output
    listed = json.loads(ok(runner, "plugins", "--json"))
    assert any(p["name"].endswith("custom_event") and p["builtin"] for p in listed)
