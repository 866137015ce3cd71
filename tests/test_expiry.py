"""Points expiry policies, and the set-based release and expiry sweeps the jobs run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from loyalty import errors, jobs
from loyalty.earning.events import Customer, CustomEvent
from loyalty.ledger import Ledger
from loyalty.models import Entry, Lot
from loyalty.programs.members import enrol
from loyalty.programs.program import update_program
from loyalty.registry import current_registry
from loyalty.testing import order_paid
from tests.helpers import available, pending, snapshot, statements_issued

DAY = timedelta(days=1)


def policy(session, program, name, after=None):
    update_program(session, program, expiry_policy=name, expiry_after=after)
    session.commit()


def expire(session, clock):
    return jobs.run_job(session, "expire", clock=clock, registry=current_registry())


def test_after_days_expires_on_the_day(session, program, push, clock, add_rule):
    add_rule("points_per_currency", {"points_per_unit": "1"})
    policy(session, program, "after_days", 30)
    clock.set(datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc))
    push(order_paid("80.00"))
    assert session.scalar(select(Lot.expires_at)) == datetime(2026, 4, 10, tzinfo=timezone.utc)
    clock.set(datetime(2026, 4, 9, 23, 59, tzinfo=timezone.utc))
    assert expire(session, clock).counts["expired_lots"] == 0
    clock.set(datetime(2026, 4, 10, 0, 0, tzinfo=timezone.utc))
    assert expire(session, clock).counts["expired_lots"] == 1
    assert available(session, program, "c-1") == 0


@pytest.mark.parametrize(
    "name, after, expected",
    [
        ("end_of_month", 0, datetime(2026, 2, 1, tzinfo=timezone.utc)),
        ("end_of_month", 12, datetime(2027, 2, 1, tzinfo=timezone.utc)),
        ("end_of_year", 0, datetime(2027, 1, 1, tzinfo=timezone.utc)),
        ("end_of_year", 1, datetime(2028, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_calendar_policies_date_each_lot(session, program, push, clock, add_rule, name, after, expected):
    add_rule("points_per_currency", {"points_per_unit": "1"})
    policy(session, program, name, after)
    clock.set(datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc))
    push(order_paid("10.00"))
    assert session.scalar(select(Lot.expires_at)) == expected


def test_inactivity_expires_everything_of_inactive_members_only(session, program, clock):
    policy(session, program, "inactivity", 90)
    ledger = Ledger(session, clock)
    idle, _ = enrol(session, program, external_id="idle", clock=clock)
    busy, _ = enrol(session, program, external_id="busy", clock=clock)
    ledger.earn(idle, 100, key="i1")
    ledger.earn(idle, 50, key="i2", expires_at=clock.now() + 365 * DAY)
    ledger.earn(busy, 100, key="b1")
    session.commit()
    clock.advance(50 * DAY)
    ledger.redeem(busy, 10, key="b-spend")  # activity
    session.commit()
    clock.advance(41 * DAY)  # 91 days since idle's last activity, 41 since busy's
    counts = expire(session, clock).counts
    assert counts == {"expired_lots": 0, "expired_inactive": 2}
    assert available(session, program, "idle") == 0 and available(session, program, "busy") == 90


def test_a_custom_event_sent_again_later_is_a_duplicate(session, program, push, clock, add_rule):
    add_rule("custom_event", {"event_name": "review", "points": 10})
    policy(session, program, "after_days", 30)
    review = CustomEvent("r-1", Customer("c-1"), "review")
    assert push(review).points == 10
    clock.advance(3 * DAY)  # the points would now get another expiry date
    assert push(review).status == "duplicate"
    assert available(session, program, "c-1") == 10


@pytest.mark.parametrize(
    "name, after",
    [
        ("after_days", None),
        ("after_days", 0),
        ("end_of_year", 11),
        ("inactivity", -5),
        ("sometimes", 3),
        ("after_days", True),
    ],
)
def test_invalid_policies_change_nothing(session, program, name, after):
    with pytest.raises(errors.InvalidInput):
        update_program(session, program, expiry_policy=name, expiry_after=after)
    session.rollback()
    session.expire_all()
    assert program.expiry_policy == "none"


def test_release_and_expiry_sweeps_are_set_based(session, program, clock):
    """A sweep's statements do not grow with the lots it posts; balances and lots come out right."""
    ledger = Ledger(session, clock)

    def statements(count: int, prefix: str) -> int:
        for n in range(count):
            member, _ = enrol(session, program, external_id=f"{prefix}{n}", clock=clock)
            ledger.earn(
                member,
                10,
                key=f"{prefix}{n}",
                pending=True,
                release_at=clock.now() + DAY,
                expires_at=clock.now() + 2 * DAY,
            )
        session.commit()
        clock.advance(DAY)
        with statements_issued(session) as issued:
            assert jobs.release_job(session, clock, None)["released"] == count
        clock.advance(DAY)
        assert jobs.expire_job(session, clock, None)["expired_lots"] == count
        return len(issued)

    assert statements(40, "b") <= statements(4, "a") + 2
    assert session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "expire")) == 44
    assert available(session, program, "b3") == 0 and pending(session, program, "b3") == 0


def test_a_released_lot_settles_debt_first(session, program, member, clock):
    ledger = Ledger(session, clock)
    spent = ledger.earn(member, 30, key="e1")
    ledger.redeem(member, 30, key="r1")
    ledger.reverse(spent.entry_id, key="chargeback", reason="chargeback", actor="test")  # available -30
    ledger.earn(member, 50, key="e2", pending=True, release_at=clock.now() + DAY)
    session.commit()
    clock.advance(DAY)
    before = snapshot(session)
    assert len(ledger.release_due(program.id)) == 1
    session.commit()
    assert snapshot(session) != before
    assert available(session, program, "c-1") == 20
    # The arriving lot keeps only what is left after the debt.
    assert session.scalar(select(func.sum(Lot.remaining))) == 20
