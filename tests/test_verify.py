"""``loyalty verify`` finds each kind of corruption, names it, and exits non-zero.

The ledger service cannot produce these states, so each test breaks the
database behind its back with raw SQL, the way a bad manual fix or a bug
in a future writer would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from loyalty.invariants import verify
from loyalty.models import Account, Entry, Lot

pytestmark = pytest.mark.corrupts_ledger


@pytest.fixture
def busy_member(ledger, session, member):
    earn = ledger.earn(member, 100, key="o1")
    ledger.redeem(member, 30, key="r1")
    session.commit()
    return member, earn


def invariants(session):
    return {v.invariant for v in verify(session)}


def test_a_clean_ledger_passes(session, busy_member, runner):
    assert verify(session) == []
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_a_tampered_cached_balance(session, busy_member, runner):
    member, _ = busy_member
    session.execute(
        update(Account).where(Account.member_id == member.id, Account.kind == "available").values(balance=1000)
    )
    session.commit()
    assert {"zero_sum", "cached_balance", "lots_cover_balance"} <= invariants(session)
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "cached_balance" in result.output and "cached 1000, transfers sum to 70" in result.output


def test_a_tampered_lot(session, busy_member):
    session.execute(update(Lot).values(remaining=5))
    session.commit()
    assert invariants(session) == {"lots_cover_balance", "lot_remainder"}


def test_a_deleted_transfer(session, busy_member):
    session.execute(text("DELETE FROM lot_consumptions"))
    session.execute(text("DELETE FROM transfers WHERE id = (SELECT MAX(id) FROM transfers)"))
    session.commit()
    assert {"cached_balance", "entry_amount", "lot_remainder"} <= invariants(session)


def test_an_overdraft_under_cap_at_zero(session, busy_member, program):
    member, _ = busy_member
    program.clawback_policy = "cap_at_zero"
    session.execute(
        update(Account).where(Account.member_id == member.id, Account.kind == "available").values(balance=-5)
    )
    session.commit()
    assert "no_overdraft" in invariants(session)


def test_an_over_reversal(session, busy_member, ledger):
    _, earn = busy_member
    ledger.reverse(earn.entry_id, 10, key="rev")
    session.commit()
    session.execute(update(Entry).where(Entry.reverses_id == earn.entry_id).values(amount=500, shortfall=490))
    session.commit()
    assert "reversal_capped" in invariants(session)


def test_verify_one_program_and_unknown_program(runner, busy_member):
    assert runner.invoke(args=["verify", "--program", "acme"]).exit_code == 0
    result = runner.invoke(args=["verify", "--program", "nope"])
    assert result.exit_code == 1 and "unknown_program" in result.output


def test_referral_points_that_do_not_match_the_referral(session, program, member, registry, ledger, clock):
    from loyalty.models import Referral
    from loyalty.referrals import attribute, set_terms

    set_terms(program, registry, referrer_points=100)
    referral, _ = attribute(
        session, program, code=member.referral_code, friend_external_id="c-friend", registry=registry, clock=clock
    )
    # Points posted for a referral that was never rewarded (a writer that skipped the service).
    ledger.earn(member, 100, key="bad-referral", source=("referral", str(referral.id)))
    session.commit()
    assert invariants(session) == {"referral_rewards"}
    session.execute(update(Referral).values(status="rewarded", referrer_points=100))
    session.commit()
    assert invariants(session) == set()
    session.execute(update(Referral).values(referrer_points=250))  # shows more than was posted
    session.commit()
    assert invariants(session) == {"referral_rewards"}


def test_redemptions_that_do_not_match_the_ledger_or_the_stock(session, program, member, registry, ledger, clock):
    from loyalty.models import Redemption, Reward
    from loyalty.rewards import add_reward, redeem

    ledger.earn(member, 1_000, key="seed")
    reward = add_reward(
        session, program, registry, type="free_shipping_code", name="Ship", points=300, stock=5, clock=clock
    )
    redemption = redeem(session, program, member, reward.id, key="r-1", clock=clock, registry=registry)
    session.commit()
    assert invariants(session) == set()
    session.execute(update(Reward).values(issued_count=2))  # stock that no redemption took
    session.commit()
    assert invariants(session) == {"redemptions"}
    session.execute(update(Reward).values(issued_count=1))
    session.execute(update(Redemption).values(points=200))  # shows less than it spent
    session.commit()
    assert invariants(session) == {"redemptions"}
    session.execute(update(Redemption).values(points=300, entry_id=None))  # points spent on a reward, no redemption
    session.commit()
    details = [v.detail for v in verify(session)]
    assert any("without a redemption" in d for d in details) and redemption.id
