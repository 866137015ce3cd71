"""``loyalty rewards …`` and ``loyalty storefronts add --api-key``, as a program manager types them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loyalty.models import Reward
from tests.helpers.cli import fails, ok


@pytest.fixture
def acme(runner):
    ok(runner, "programs", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD")
    ok(runner, "members", "add", "--program", "acme", "--external-id", "c-1")
    ok(runner, "points", "award", "--program", "acme", "--member", "c-1", "--amount", "1000", "--key", "seed")


def test_a_catalog_from_the_command_line(runner, acme, session, tmp_path):
    assert "stripe_promotion_code" in ok(runner, "rewards", "types")
    ok(
        runner,
        "rewards",
        "add",
        "--program",
        "acme",
        "--type",
        "fixed_amount_code",
        "--name",
        "5 off",
        "--points",
        "500",
        "--config",
        '{"amount": "5.00"}',
        "--stock",
        "2",
        "--limit-per-member",
        "1",
    )
    ok(
        runner,
        "rewards",
        "add",
        "--program",
        "acme",
        "--type",
        "store_credit",
        "--name",
        "Credit",
        "--points",
        "100",
        "--step-value",
        "1.00",
        "--max-points",
        "1000",
    )
    ok(
        runner,
        "rewards",
        "add",
        "--program",
        "acme",
        "--type",
        "free_shipping_code",
        "--name",
        "Ship",
        "--points",
        "50",
        "--config",
        '{"use_pool": true}',
    )
    codes = tmp_path / "codes.txt"
    codes.write_text("SHIP-001\nship-002\n\nSHIP-001\n")
    assert "Imported 2 new codes" in ok(
        runner, "rewards", "import-codes", "--program", "acme", "3", "--file", str(codes)
    )
    out = ok(runner, "rewards", "list", "--program", "acme")
    assert (
        "100 points = 1.00 USD, 100-1000" in out and "[stock 2/2, 1 per member]" in out and "pool 2 codes left" in out
    )

    assert "code SHIP-001" in ok(
        runner, "rewards", "redeem", "--program", "acme", "--member", "c-1", "--reward", "3", "--key", "k-1"
    )
    assert "300 points" in ok(
        runner,
        "rewards",
        "redeem",
        "--program",
        "acme",
        "--member",
        "c-1",
        "--reward",
        "2",
        "--points",
        "300",
        "--key",
        "k-2",
    )
    assert "a multiple of 100 from 100 to 1000" in fails(
        runner,
        "rewards",
        "redeem",
        "--program",
        "acme",
        "--member",
        "c-1",
        "--reward",
        "2",
        "--points",
        "150",
        "--key",
        "k-3",
    )
    out = ok(runner, "rewards", "redemptions", "--program", "acme", "--member", "c-1")
    assert "SHIP-001" in out and out.count("issued") == 2
    assert "300 points returned" in ok(runner, "rewards", "cancel", "--program", "acme", "--member", "c-1", "2")
    assert "redemption_not_cancellable" in fails(
        runner, "rewards", "cancel", "--program", "acme", "--member", "c-1", "2"
    )
    ok(runner, "rewards", "update", "--program", "acme", "1", "--pause")
    assert "paused" in ok(runner, "rewards", "list", "--program", "acme")
    assert "reward_unavailable" in fails(
        runner, "rewards", "redeem", "--program", "acme", "--member", "c-1", "--reward", "1", "--key", "k-4"
    )
    assert "Available 950" in ok(runner, "members", "show", "--program", "acme", "c-1")  # 1000 - 50, the 300 returned


@pytest.mark.parametrize(
    "args",
    [
        ("--type", "nope", "--points", "10"),
        ("--type", "percentage_code", "--points", "10", "--config", '{"percent": 0}'),
        ("--type", "percentage_code", "--points", "10", "--config", "not json"),
        ("--type", "free_product", "--points", "10"),
        ("--type", "fixed_amount_code", "--points", "10", "--config", '{"amount": "1"}', "--min-tier", "Gold"),
    ],
)
def test_invalid_rewards_add_nothing(runner, acme, session, args):
    fails(runner, "rewards", "add", "--program", "acme", "--name", "Bad", *args)
    assert session.scalar(select(func.count()).select_from(Reward)) == 0


def test_a_redemption_that_fails_is_recorded_and_spends_nothing(runner, acme):
    ok(
        runner,
        "rewards",
        "add",
        "--program",
        "acme",
        "--type",
        "free_shipping_code",
        "--name",
        "Ship",
        "--points",
        "50",
        "--config",
        '{"use_pool": true}',
    )
    assert "failed, no points spent: the code pool" in fails(
        runner, "rewards", "redeem", "--program", "acme", "--member", "c-1", "--reward", "1", "--key", "k"
    )
    assert "failed" in ok(runner, "rewards", "redemptions", "--program", "acme", "--member", "c-1")
    assert "Available 1000" in ok(runner, "members", "show", "--program", "acme", "c-1")


def test_a_stores_api_key_is_kept_and_shown_masked(runner, acme):
    out = ok(
        runner,
        "storefronts",
        "add",
        "--program",
        "acme",
        "--type",
        "stripe",
        "--secret",
        "whsec_abcdefghij",
        "--api-key",
        "sk_test_0123456789abcdef",
    )
    assert "API key sk…cdef" in out and "0123456789" not in out
    ok(runner, "storefronts", "add", "--program", "acme", "--type", "stripe", "--secret", "whsec_rotated_123")
    assert "API key sk…cdef" in ok(runner, "storefronts", "list", "--program", "acme")  # rotation keeps the key
    assert "at least 8" in fails(
        runner,
        "storefronts",
        "add",
        "--program",
        "acme",
        "--type",
        "stripe",
        "--secret",
        "whsec_abcdefghij",
        "--api-key",
        "short",
    )
