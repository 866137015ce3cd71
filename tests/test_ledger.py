"""The ledger service, operation by operation, with worked examples."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty import errors
from loyalty.models import Entry, Lot, LotConsumption
from tests.helpers import START, snapshot

DAY = timedelta(days=1)


def balances(ledger, member):
    return ledger.balances(member.id)


def _account(session, member, kind):
    from loyalty.models import Account

    return session.scalar(select(Account.id).where(Account.member_id == member.id, Account.kind == kind))


class TestEarn:
    def test_earn_to_available_opens_a_lot(self, ledger, session, member):
        posting = ledger.earn(member, 100, key="o1", expires_at=START + 30 * DAY, reason="order 1")
        session.commit()
        assert posting.amount == 100 and not posting.replayed
        assert balances(ledger, member) == {"available": 100, "pending": 0}
        lot = session.scalars(select(Lot)).one()
        assert (lot.amount, lot.remaining, lot.expires_at) == (100, 100, START + 30 * DAY)

    def test_earn_to_pending_then_release_when_due(self, ledger, session, member, clock):
        ledger.earn(member, 70, key="o1", pending=True, release_at=START + 14 * DAY, expires_at=START + 99 * DAY)
        session.commit()
        assert balances(ledger, member) == {"available": 0, "pending": 70}
        assert ledger.release_due(member.program_id) == []  # not due yet
        clock.advance(14 * DAY)
        released = ledger.release_due(member.program_id)
        session.commit()
        assert [p.amount for p in released] == [70]
        assert balances(ledger, member) == {"available": 70, "pending": 0}
        available_lot = session.scalars(select(Lot).where(Lot.remaining > 0)).one()
        assert available_lot.expires_at == START + 99 * DAY  # the expiry travels with the points
        assert ledger.release_due(member.program_id) == []  # nothing twice

    def test_release_at_requires_pending(self, ledger, member, session):
        before = snapshot(session)
        with pytest.raises(errors.InvalidInput):
            ledger.earn(member, 10, key="k", release_at=START)
        assert snapshot(session) == before

    def test_suspended_member_cannot_earn(self, ledger, member, session):
        member.status = "suspended"
        session.commit()
        before = snapshot(session)
        with pytest.raises(errors.MemberNotActive):
            ledger.earn(member, 10, key="k")
        assert snapshot(session) == before


class TestRedeem:
    def test_spends_soonest_expiring_lots_first(self, ledger, session, member):
        ledger.earn(member, 100, key="late", expires_at=START + 90 * DAY)
        ledger.earn(member, 50, key="never")
        ledger.earn(member, 30, key="soon", expires_at=START + 10 * DAY)
        ledger.redeem(member, 60, key="r1")
        session.commit()
        remaining = dict(
            session.execute(select(Entry.idempotency_key, Lot.remaining).join(Entry, Entry.id == Lot.entry_id)).all()
        )
        # 30 from "soon" (expires first), then 30 of "late"; "never" untouched.
        assert remaining == {"soon": 0, "late": 70, "never": 50}
        assert balances(ledger, member)["available"] == 120

    def test_cannot_go_below_zero(self, ledger, session, member):
        ledger.earn(member, 40, key="o1")
        session.commit()
        before = snapshot(session)
        with pytest.raises(errors.InsufficientPoints) as caught:
            ledger.redeem(member, 41, key="r1")
        assert caught.value.details == {"available": 40, "requested": 41}
        assert snapshot(session) == before

    def test_pending_points_cannot_be_spent(self, ledger, session, member):
        ledger.earn(member, 40, key="o1", pending=True)
        session.commit()
        with pytest.raises(errors.InsufficientPoints):
            ledger.redeem(member, 1, key="r1")


class TestExpire:
    def test_expires_only_lots_past_their_date(self, ledger, session, member, clock):
        ledger.earn(member, 100, key="a", expires_at=START + 10 * DAY)
        ledger.earn(member, 20, key="b", expires_at=START + 20 * DAY)
        ledger.redeem(member, 30, key="r")  # takes 30 of lot a
        session.commit()
        clock.advance(15 * DAY)
        expired = ledger.expire_due(member.program_id)
        session.commit()
        assert [p.amount for p in expired] == [70]
        assert balances(ledger, member)["available"] == 20
        assert ledger.expire_due(member.program_id) == []

    def test_a_lot_not_yet_expired_is_refused(self, ledger, session, member):
        ledger.earn(member, 10, key="a", expires_at=START + DAY)
        session.commit()
        lot_id = session.scalar(select(Lot.id))
        with pytest.raises(errors.InvalidInput):
            ledger.expire_lot(lot_id)


class TestAdjust:
    def test_credit_and_debit_with_reason(self, ledger, session, member):
        ledger.adjust(member, 25, key="a1", reason="goodwill", actor="pm@example.com")
        ledger.adjust(member, -5, key="a2", reason="typo", actor="pm@example.com")
        session.commit()
        assert balances(ledger, member)["available"] == 20
        reasons = session.scalars(select(Entry.reason).order_by(Entry.id)).all()
        assert reasons == ["goodwill", "typo"]

    @pytest.mark.parametrize(
        "amount, reason, actor, error",
        [
            (0, "x", "pm", errors.InvalidInput),
            (10, "", "pm", errors.InvalidInput),
            (10, "x", "", errors.InvalidInput),
            (-11, "x", "pm", errors.InsufficientPoints),
            (1.5, "x", "pm", errors.InvalidInput),
        ],
    )
    def test_bad_adjustments_change_nothing(self, ledger, session, member, amount, reason, actor, error):
        ledger.earn(member, 10, key="o1")
        session.commit()
        before = snapshot(session)
        with pytest.raises(error):
            ledger.adjust(member, amount, key="bad", reason=reason, actor=actor)
        assert snapshot(session) == before


class TestReverse:
    def test_refund_claws_back_from_pending_first(self, ledger, session, member, clock):
        ledger.earn(member, 100, key="o0")
        earn = ledger.earn(member, 60, key="o1", pending=True, release_at=START + 14 * DAY)
        first = ledger.reverse(earn.entry_id, 20, key="refund-1")
        session.commit()
        # Still in the return window: the order's own pending points go first.
        assert [(t.from_account_id, t.amount) for t in first.transfers] == [(_account(session, member, "pending"), 20)]
        assert balances(ledger, member) == {"available": 100, "pending": 40}
        clock.advance(14 * DAY)
        ledger.release_due(member.program_id)
        second = ledger.reverse(earn.entry_id, 30, key="refund-2")
        session.commit()
        # Released since: the rest comes from available.
        assert [(t.from_account_id, t.amount) for t in second.transfers] == [
            (_account(session, member, "available"), 30)
        ]
        assert balances(ledger, member) == {"available": 110, "pending": 0}

    def test_partial_reversals_are_capped_at_what_is_left(self, ledger, session, member):
        earn = ledger.earn(member, 100, key="o1")
        ledger.reverse(earn.entry_id, 30, key="r1")
        ledger.reverse(earn.entry_id, 50, key="r2")
        session.commit()
        before = snapshot(session)
        with pytest.raises(errors.ReversalExceeded) as caught:
            ledger.reverse(earn.entry_id, 21, key="r3")
        assert caught.value.details == {"left": 20}
        assert snapshot(session) == before
        rest = ledger.reverse(earn.entry_id, key="r4")  # the rest by default
        session.commit()
        assert rest.amount == 20
        with pytest.raises(errors.ReversalExceeded):
            ledger.reverse(earn.entry_id, key="r5")
        assert balances(ledger, member)["available"] == 0

    def test_allow_negative_policy_takes_spent_points(self, ledger, session, member):
        earn = ledger.earn(member, 100, key="o1")
        ledger.redeem(member, 90, key="spend")
        posting = ledger.reverse(earn.entry_id, key="refund")
        session.commit()
        assert posting.shortfall == 0
        assert balances(ledger, member)["available"] == -90
        # The next points settle the debt first.
        ledger.earn(member, 100, key="o2", expires_at=START + 5 * DAY)
        session.commit()
        assert balances(ledger, member)["available"] == 10
        assert session.scalar(select(Lot.remaining).where(Lot.remaining > 0)) == 10

    def test_cap_at_zero_policy_records_the_shortfall(self, ledger, session, member, program):
        program.clawback_policy = "cap_at_zero"
        session.commit()
        earn = ledger.earn(member, 100, key="o1")
        ledger.redeem(member, 90, key="spend")
        posting = ledger.reverse(earn.entry_id, key="refund")
        session.commit()
        assert (posting.moved, posting.shortfall) == (10, 90)
        assert balances(ledger, member)["available"] == 0
        # A shortfall counts as reversed: nothing is left to claw back later.
        with pytest.raises(errors.ReversalExceeded):
            ledger.reverse(earn.entry_id, key="again")

    def test_cap_at_zero_with_nothing_left_is_all_shortfall(self, ledger, session, member, program):
        program.clawback_policy = "cap_at_zero"
        session.commit()
        earn = ledger.earn(member, 50, key="o1")
        ledger.redeem(member, 50, key="spend")
        posting = ledger.reverse(earn.entry_id, key="refund")
        session.commit()
        assert posting.transfers == () and posting.shortfall == 50
        assert ledger.reverse(earn.entry_id, key="refund").replayed

    def test_reversing_a_redemption_gives_the_points_back(self, ledger, session, member):
        ledger.earn(member, 100, key="o1", expires_at=START + 30 * DAY)
        redeem = ledger.redeem(member, 40, key="r1")
        ledger.reverse(redeem.entry_id, key="cancel-r1")
        session.commit()
        assert balances(ledger, member)["available"] == 100
        restored = session.scalars(select(Lot).order_by(Lot.id.desc())).first()
        assert (restored.remaining, restored.expires_at) == (40, START + 30 * DAY)

    def test_releases_and_reversals_are_not_reversible(self, ledger, session, member, clock):
        earn = ledger.earn(member, 10, key="o1", pending=True, release_at=START)
        (release,) = ledger.release_due(member.program_id)
        reversal = ledger.reverse(earn.entry_id, 5, key="r1")
        session.commit()
        for entry_id in (release.entry_id, reversal.entry_id):
            with pytest.raises(errors.NotReversible):
                ledger.reverse(entry_id, key=f"x{entry_id}")

    def test_unknown_entry_or_other_program(self, ledger, session, member, clock):
        from loyalty.programs.program import create_program

        other = create_program(session, slug="other", name="Other", currency="EUR", clock=clock)
        earn = ledger.earn(member, 10, key="o1")
        session.commit()
        with pytest.raises(errors.UnknownEntry):
            ledger.reverse(999_999, key="r")
        with pytest.raises(errors.UnknownEntry):
            ledger.reverse(earn.entry_id, key="r", program_id=other.id)


class TestIdempotency:
    def test_same_key_same_request_replays(self, ledger, session, member):
        first = ledger.earn(member, 100, key="o1")
        session.commit()
        before = snapshot(session)
        again = ledger.earn(member, 100, key="o1")
        assert again.replayed and again.entry_id == first.entry_id and again.amount == 100
        assert snapshot(session) == before

    def test_same_key_other_request_is_a_conflict(self, ledger, session, member):
        ledger.earn(member, 100, key="o1")
        session.commit()
        before = snapshot(session)
        with pytest.raises(errors.IdempotencyConflict):
            ledger.earn(member, 101, key="o1")
        with pytest.raises(errors.IdempotencyConflict):
            ledger.redeem(member, 100, key="o1")
        assert snapshot(session) == before

    def test_keys_are_per_program(self, ledger, session, member, member_factory, clock):
        from loyalty.programs.program import create_program

        other = create_program(session, slug="other", name="Other", currency="EUR", clock=clock)
        session.commit()
        stranger = member_factory("c-9", target=other)
        ledger.earn(member, 5, key="same")
        assert not ledger.earn(stranger, 5, key="same").replayed
        session.commit()


class TestBadInput:
    @pytest.mark.parametrize("amount", [0, -5, 10**13, "10", True, None])
    def test_bad_amounts(self, ledger, session, member, amount):
        before = snapshot(session)
        with pytest.raises(errors.InvalidInput):
            ledger.earn(member, amount, key="k")
        with pytest.raises(errors.InvalidInput):
            ledger.redeem(member, amount, key="k")
        assert snapshot(session) == before

    @pytest.mark.parametrize("key", ["", "   ", None, "x" * 256])
    def test_bad_keys(self, ledger, session, member, key):
        before = snapshot(session)
        with pytest.raises(errors.InvalidInput):
            ledger.earn(member, 5, key=key)
        assert snapshot(session) == before

    def test_unknown_member(self, ledger, session, member):
        from loyalty.models import Member

        ghost = Member(id=987654, program_id=member.program_id, external_id="ghost", status="active")
        before = snapshot(session)
        with pytest.raises(errors.UnknownMember):
            ledger.earn(ghost, 5, key="k")
        assert snapshot(session) == before

    def test_naive_datetimes_are_refused(self, ledger, session, member):
        from datetime import datetime

        with pytest.raises(ValueError):
            ledger.earn(member, 5, key="k", expires_at=datetime(2030, 1, 1))
        session.rollback()


def test_lot_consumptions_explain_every_remainder(ledger, session, member):
    ledger.earn(member, 100, key="a", expires_at=START + DAY)
    ledger.earn(member, 100, key="b", expires_at=START + 2 * DAY)
    ledger.redeem(member, 150, key="r")
    session.commit()
    taken = session.execute(select(LotConsumption.lot_id, LotConsumption.amount).order_by(LotConsumption.id)).all()
    lots = session.scalars(select(Lot.id).order_by(Lot.id)).all()
    assert taken == [(lots[0], 100), (lots[1], 50)]
