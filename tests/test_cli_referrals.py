"""``loyalty referrals …``: terms, checks, the list, approving and rejecting."""

from __future__ import annotations

import pytest

from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.referrals import attribute
from tests.helpers.cli import fails, ok


@pytest.fixture
def acme(runner):
    ok(
        runner,
        "programs",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--currency",
        "USD",
        "--return-window-days",
        "14",
    )
    ok(runner, "members", "add", "--program", "acme", "--external-id", "c-ann", "--email", "ann@example.com")


def test_terms_shown_then_set(runner, acme, session):
    assert "off (no terms yet" in ok(runner, "referrals", "terms", "--program", "acme")
    out = ok(
        runner,
        "referrals",
        "terms",
        "--program",
        "acme",
        "--referrer-points",
        "500",
        "--friend-points",
        "250",
        "--min-order",
        "25.00",
        "--monthly-cap",
        "5",
        "--link",
        "https://shop.example.com/?ref={code}",
    )
    assert "referrer gets 500 points, friend gets 250 points" in out
    assert "the first order of at least 25.00 USD" in out and "the return window (14 days)" in out
    assert "monthly cap per referrer: 5" in out
    out = ok(
        runner, "referrals", "terms", "--program", "acme", "--monthly-cap", "none", "--review-days", "30", "--any-order"
    )
    assert "monthly cap per referrer: none" in out and "review period: 30 days" in out and "any order" in out
    ok(runner, "rewards", "add", "--program", "acme", "--type", "free_shipping_code", "--name", "Ship", "--points", "1")
    assert "and reward 1 (Ship)" in ok(runner, "referrals", "terms", "--program", "acme", "--friend-reward", "1")
    assert "unknown_reward" in fails(runner, "referrals", "terms", "--program", "acme", "--friend-reward", "99")
    assert "and reward" not in ok(runner, "referrals", "terms", "--program", "acme", "--friend-reward", "none")
    code = get_member(session, get_program(session, "acme"), "c-ann").referral_code
    assert f"https://shop.example.com/?ref={code}" in ok(runner, "members", "show", "--program", "acme", "c-ann")


@pytest.mark.parametrize(
    "args",
    [
        ("--referrer-points", "-5"),
        ("--min-order", "abc"),
        ("--link", "ftp://x/{code}"),
        ("--monthly-cap", "many"),
    ],
)
def test_invalid_terms_change_nothing(runner, acme, session, args):
    ok(runner, "referrals", "terms", "--program", "acme", "--referrer-points", "100")
    before = get_program(session, "acme").referral_terms
    fails(runner, "referrals", "terms", "--program", "acme", *args)
    session.expire_all()
    assert get_program(session, "acme").referral_terms == before


def test_checks_listed_and_set(runner, acme, session):
    out = ok(runner, "referrals", "checks", "--program", "acme")
    for name in ("self_referral", "existing_customer", "minimum_order", "velocity"):
        assert name in out
    assert "max_per_ip=3" in out
    ok(
        runner,
        "referrals",
        "check",
        "--program",
        "acme",
        "velocity",
        "--settings",
        '{"max_per_ip": 5}',
        "--action",
        "reject",
    )
    ok(runner, "referrals", "check", "--program", "acme", "self_referral", "--off")
    out = ok(runner, "referrals", "checks", "--program", "acme")
    assert "max_per_ip=5" in out and "velocity           on  reject" in out and "self_referral      off" in out
    assert "no referral check 'nope'" in fails(runner, "referrals", "check", "--program", "acme", "nope", "--off")
    assert "max_per_ip" in fails(
        runner, "referrals", "check", "--program", "acme", "velocity", "--settings", '{"max_per_ip": -1}'
    )


def test_review_flagged_referrals(runner, acme, session, registry, clock):
    ok(runner, "referrals", "terms", "--program", "acme", "--referrer-points", "100")
    ok(runner, "referrals", "check", "--program", "acme", "velocity", "--settings", '{"max_per_referrer": 1}')
    program = get_program(session, "acme")
    code = get_member(session, program, "c-ann").referral_code
    first, _ = attribute(session, program, code=code, friend_external_id="f-1", registry=registry, clock=clock)
    second, _ = attribute(session, program, code=code, friend_external_id="f-2", registry=registry, clock=clock)
    third, _ = attribute(session, program, code=code, friend_external_id="f-3", registry=registry, clock=clock)
    session.commit()
    out = ok(runner, "referrals", "list", "--program", "acme", "--status", "flagged")
    assert "f-2" in out and "f-3" in out and "f-1" not in out and "the referrer has 1 or more" in out
    assert "now pending" in ok(runner, "referrals", "approve", "--program", "acme", str(second.id))
    assert "rejected: looks like a coupon site" in ok(
        runner, "referrals", "reject", "--program", "acme", str(third.id), "--reason", "looks like a coupon site"
    )
    assert "referral_not_open" in fails(runner, "referrals", "approve", "--program", "acme", str(third.id))
    assert "unknown_referral" in fails(runner, "referrals", "approve", "--program", "acme", "999")
    assert "needs a reason" in fails(runner, "referrals", "reject", "--program", "acme", str(first.id), "--reason", " ")
    out = ok(runner, "referrals", "list", "--program", "acme", "--member", "c-ann")
    assert out.count("pending") == 2 and "rejected" in out


@pytest.mark.parametrize("settings", ["[1, 2]", "not json", '"text"'])
def test_check_settings_that_are_not_a_json_object_change_nothing(runner, acme, session, settings):
    ok(runner, "referrals", "terms", "--program", "acme", "--referrer-points", "100")
    before = get_program(session, "acme").referral_terms
    out = fails(runner, "referrals", "check", "--program", "acme", "velocity", "--settings", settings)
    assert "--settings" in out and "Traceback" not in out
    session.expire_all()
    assert get_program(session, "acme").referral_terms == before
