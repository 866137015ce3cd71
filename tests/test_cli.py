"""The ``loyalty`` command, as a store owner would type it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loyalty.models import Entry
from loyalty.programs.program import get_program
from loyalty.widget.settings import settings_of
from tests.helpers import snapshot
from tests.helpers.cli import fails, ok


@pytest.fixture
def acme(runner):
    ok(runner, "programs", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD")
    ok(
        runner,
        "members",
        "add",
        "--program",
        "acme",
        "--external-id",
        "c-1",
        "--email",
        "ann@example.com",
        "--name",
        "Ann",
        "--birthday",
        "1990-04-12",
    )


def test_the_issue_walkthrough(runner, acme, session):
    assert "Entry 1: earn 100 points." in ok(
        runner,
        "points",
        "award",
        "--program",
        "acme",
        "--member",
        "c-1",
        "--amount",
        "100",
        "--reason",
        "order 1001",
        "--key",
        "order-1001",
    )
    assert "already posted" in ok(
        runner, "points", "award", "--program", "acme", "--member", "c-1", "--amount", "100", "--key", "order-1001"
    )
    ok(runner, "points", "redeem", "--program", "acme", "--member", "c-1", "--amount", "30", "--reason", "coupon")
    assert ": adjust -5 points." in ok(
        runner, "points", "adjust", "--program", "acme", "--member", "c-1", "--amount", "-5", "--reason", "typo"
    )  # the sign kept: a debit reads as one
    assert ": adjust 1 point." in ok(
        runner, "points", "adjust", "--program", "acme", "--member", "c-1", "--amount", "1", "--reason", "typo"
    )
    ok(
        runner,
        "points",
        "reverse",
        "--program",
        "acme",
        "--member",
        "c-1",
        "--entry",
        "1",
        "--amount",
        "10",
        "--reason",
        "partial refund",
    )
    shown = ok(runner, "members", "show", "--program", "acme", "c-1")
    assert "Available 56   Pending 0" in shown
    assert "reverses 1: partial refund" in shown and "order 1001" in shown
    assert "OK" in ok(runner, "verify")
    assert session.scalar(select(func.count()).select_from(Entry)) == 5


def test_pending_points_release_and_expiry(runner, acme, clock):
    from datetime import timedelta

    ok(
        runner,
        "points",
        "award",
        "--program",
        "acme",
        "--member",
        "c-1",
        "--amount",
        "40",
        "--release-at",
        "2026-01-05",
        "--expires-at",
        "2026-02-01",
    )
    assert "Released 0 points" in ok(runner, "points", "release", "--program", "acme")
    clock.advance(timedelta(days=5))
    assert "Released 40 points in 1 lot." in ok(runner, "points", "release", "--program", "acme")
    clock.advance(timedelta(days=40))
    assert "Expired 40 points in 1 lot." in ok(runner, "points", "expire", "--program", "acme")


@pytest.mark.parametrize(
    "args, message",
    [
        (["programs", "create", "--slug", "acme", "--name", "Again", "--currency", "USD"], "duplicate_program"),
        (["members", "add", "--program", "acme", "--external-id", "c-1"], "duplicate_member"),
        (["members", "add", "--program", "nope", "--external-id", "c-2"], "unknown_program"),
        (["members", "show", "--program", "acme", "ghost"], "unknown_member"),
        (["points", "award", "--program", "acme", "--member", "ghost", "--amount", "5"], "unknown_member"),
        (["points", "award", "--program", "acme", "--member", "c-1", "--amount", "0"], "invalid_input"),
        (["points", "award", "--program", "acme", "--member", "c-1", "--amount", "-3"], "invalid_input"),
        (["points", "redeem", "--program", "acme", "--member", "c-1", "--amount", "1"], "insufficient_points"),
        (
            ["points", "adjust", "--program", "acme", "--member", "c-1", "--amount", "0", "--reason", "x"],
            "invalid_input",
        ),
        (["points", "adjust", "--program", "acme", "--member", "c-1", "--amount", "5"], "Missing option '--reason'"),
        (["points", "reverse", "--program", "acme", "--entry", "99"], "unknown_entry"),
        (
            ["points", "award", "--program", "acme", "--member", "c-1", "--amount", "5", "--expires-at", "soon"],
            "is not a date",
        ),
    ],
)
def test_bad_commands_say_why_and_change_nothing(runner, acme, session, args, message):
    before = snapshot(session)
    session.rollback()
    assert message in fails(runner, *args)
    assert snapshot(session) == before


def test_a_reused_key_with_other_input_is_refused(runner, acme, session):
    ok(runner, "points", "award", "--program", "acme", "--member", "c-1", "--amount", "10", "--key", "k")
    assert "idempotency_conflict" in fails(
        runner, "points", "award", "--program", "acme", "--member", "c-1", "--amount", "11", "--key", "k"
    )


def test_over_reversal_is_refused(runner, acme):
    ok(runner, "points", "award", "--program", "acme", "--member", "c-1", "--amount", "10")
    ok(runner, "points", "reverse", "--program", "acme", "--entry", "1")
    assert "reversal_exceeded" in fails(runner, "points", "reverse", "--program", "acme", "--entry", "1")


def test_lists(runner, acme):
    assert "acme" in ok(runner, "programs", "list")
    assert "ann@example.com" in ok(runner, "members", "list", "--program", "acme")


def test_demo_builds_a_program_and_is_safe_to_rerun(runner, session, clock):
    first = ok(runner, "demo")
    assert "Demo program 'demo'" in first
    assert "11 signed Shopify and Standard Webhooks deliveries" in first and "duplicate" not in first
    counts = snapshot(session)
    widget = settings_of(session, get_program(session, "demo"))
    assert widget.enabled and widget.origins == ["http://127.0.0.1:8001"]
    assert widget.sign_in_url == "http://127.0.0.1:8001/sign-in" and widget.appearance["accent"] == "#7c2d12"
    secret, changed = widget.secret, widget.updated_at
    assert "http://127.0.0.1:8001/?customer=cust-ben" in first and "http://127.0.0.1:8001/hostile" in first
    session.rollback()
    again = ok(runner, "demo")
    assert again.count("duplicate") == 11
    # The balances and tiers; not the jobs' counts (a re-run finds nothing left to release) nor the new API key.
    balances = lambda output: output.split("Balances:")[1].split("Scheduled jobs")[0]  # noqa: E731
    assert balances(again) == balances(first)
    assert "lk_" in first and "cust-eve" in first and "tiers:demo succeeded" in first and "tier Silver" in first
    assert snapshot(session) == counts
    widget = settings_of(session, get_program(session, "demo"))
    assert (widget.secret, widget.updated_at) == (secret, changed)  # enabling again keeps the secret, writes nothing
    # Ben: 80 base + 100 first order, half refunded (-90), + 50 welcome.
    assert "Available 140" in ok(runner, "members", "show", "--program", "demo", "cust-ben")
    # Ann's newest order is still in the 7-day return window.
    assert "Pending 54" in ok(runner, "members", "show", "--program", "demo", "cust-ann")
    assert "Triple points on coffee" in ok(runner, "rules", "list", "--program", "demo")
    # Referrals: Fay (Ann's code at checkout, a month ago) rewarded; Cara's own link rejected; Gus in review;
    # the third friend from one IP flagged. Fay: 85 base + 100 first order + 50 welcome + 250 as a friend.
    assert "cust-ann  -> cust-fay  via discount_code rewarded  +500 referrer, +250 friend" in first
    assert "cust-cara -> cust-cara via landing_site  rejected" in first and "in review until" in first
    assert "flagged   3 or more referrals from IP 198.51.100.7" in first
    referrals = lambda output: output.split("\nReferrals:")[1].split("\nRewards")[0]  # noqa: E731
    assert referrals(again) == referrals(first)
    # Fay then spent 300 of her 485 on store credit; she also got the welcome reward, and Ann a tote code.
    assert "Available 185" in ok(runner, "members", "show", "--program", "demo", "cust-fay")
    from loyalty.access.admin_users import authenticate

    password = again.split("e-mail owner@demo.example  password ")[1].split()[0]
    assert (
        authenticate(session, "owner@demo.example", password, clock=clock) is not None
    )  # the latest run's password works
    assert "cust-fay  redeemed 'Welcome 10% off' for 0 points" in first
    assert "cust-ann  redeemed 'Canvas tote (Gold)' for 800 points: code TOTE-FREE-1001" in first
    # The same rewards and codes again (the tote's stock is read before or after Ann's, by run).
    rewards = lambda output: output.split("\nRewards")[1].split("The REST API")[0].replace("49 left", "50 left")  # noqa: E731
    assert rewards(again) == rewards(first)


def test_create_admin_without_a_terminal_takes_the_password_from_the_environment(runner, session, clock):
    from loyalty.access.admin_users import authenticate

    answer = runner.invoke(
        args=["create-admin", "--email", "ops@example.com", "--role", "owner"],
        env={"ADMIN_PASSWORD": "a long passphrase"},
    )
    assert answer.exit_code == 0, answer.output
    assert authenticate(session, "ops@example.com", "a long passphrase", clock=clock) is not None
    short = runner.invoke(args=["create-admin", "--email", "x@example.com"], env={"ADMIN_PASSWORD": "short"})
    assert short.exit_code != 0 and "10" in short.output
