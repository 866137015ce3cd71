"""Daily roll-ups: the dashboard's figures are the same with them as counted live, and verify checks them."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from loyalty.invariants import verify
from loyalty.jobs import run_job
from loyalty.ledger import Ledger
from loyalty.models import DailyFigure, MemberActivity
from loyalty.reporting.dashboard import daily_points, figures
from loyalty.reporting.finance import breakage, rollforward
from loyalty.reporting.periods import TICK, midnight
from loyalty.reporting.rollups import balance_changes, days_due
from tests.helpers import START, run_together

DAY = timedelta(days=1)
JAN = {n: midnight(date(2026, 1, n)) for n in range(1, 32)}


@pytest.fixture
def busy_program(session, program, member_factory, clock):
    """Ten days of everything the ledger does, with entries on and either side of midnight."""
    ledger = Ledger(session, clock)
    ann, bob, cy = member_factory("c-ann"), member_factory("c-bob"), member_factory("c-cy")
    first = ledger.earn(ann, 500, key="a1", expires_at=START + 6 * DAY)
    ledger.earn(bob, 200, key="b1", pending=True, release_at=START + 3 * DAY)
    session.commit()
    clock.set(JAN[2])  # exactly midnight: the first instant of 2 January
    ledger.redeem(ann, 100, key="a-spend")
    clock.set(JAN[3] - TICK)  # the last instant of 2 January
    ledger.earn(cy, 50, key="c1")
    session.commit()
    clock.set(START + 3 * DAY + timedelta(hours=1))
    ledger.release_due(program.id)
    ledger.adjust(bob, -20, key="b-fix", reason="typo", actor="test")
    ledger.reverse(first.entry_id, 50, key="a-refund", reason="refund", actor="test")
    session.commit()
    clock.set(START + 7 * DAY)
    ledger.expire_due(program.id)
    session.commit()
    clock.set(START + 9 * DAY)
    ledger.earn(bob, 10, key="b2")
    session.commit()
    return program


def unrolled(program):
    """The program as the reports see it without roll-ups: everything counted live."""
    return SimpleNamespace(id=program.id, rolled_up_until=None)


def periods(now):
    untils = [now, JAN[5], JAN[5] - TICK, START + 4 * DAY]
    sinces = [START - 30 * DAY, JAN[1], JAN[2], JAN[2] - TICK, START + DAY, JAN[4], now - DAY, now - 7 * DAY]
    return [(since, until) for until in untils for since in sinces if since < until]


def same_figures(session, program, now):
    """Every figure for every period, with the roll-ups against without; balances against the ledger's transfers."""
    for since, until in periods(now):
        rolled = dataclasses.replace(figures(session, program, since, until), rolled_up_until=None)
        live = figures(session, unrolled(program), since, until)
        at = balance_changes(session, program.id, None, until + TICK)  # the ledger's transfers up to until
        assert (live.outstanding, live.pending) == (at.get("balance:available", 0), at.get("balance:pending", 0))
        assert rolled == live, (since, until)
        assert daily_points(session, program, since, until) == daily_points(session, unrolled(program), since, until)
        assert rollforward(session, program, since, until) == rollforward(session, unrolled(program), since, until)
    assert breakage(session, program) == breakage(session, unrolled(program))


def test_figures_are_the_same_with_the_rollups_as_counted_live(session, busy_program, clock, registry):
    program = busy_program
    clock.set(START + 9 * DAY + timedelta(hours=2))
    before = figures(session, program, clock.now() - 30 * DAY, clock.now())
    assert (before.issued, before.redeemed, before.expired, before.adjusted, before.reversed) == (760, 100, 350, 20, 50)
    assert (before.outstanding, before.pending, before.active_members, before.members) == (240, 0, 3, 3)
    assert before.rolled_up_until is None

    run = run_job(session, "rollups", clock=clock, registry=registry)
    assert run.status == "succeeded" and run.counts == {"days": 9}  # 1 to 9 January; the 10th has not ended
    assert program.rolled_up_until == date(2026, 1, 10)
    same_figures(session, program, clock.now())

    # Activity after the mark is counted live, on top of the roll-ups.
    ledger = Ledger(session, clock)
    from loyalty.programs.members import get_member

    ledger.earn(get_member(session, program, "c-cy"), 5, key="c2")
    session.commit()
    same_figures(session, program, clock.now())
    after = figures(session, program, clock.now() - 30 * DAY, clock.now())
    assert (after.issued, after.outstanding, after.rolled_up_until) == (765, 245, date(2026, 1, 10))


def test_the_job_sums_each_day_once_it_ended_and_a_late_entry_at_the_next_run(session, busy_program, clock, registry):
    program = busy_program
    clock.set(JAN[11] + timedelta(minutes=30))  # the 10th ended less than an hour ago: not yet
    assert run_job(session, "rollups", clock=clock, registry=registry).counts == {"days": 9}
    assert program.rolled_up_until == date(2026, 1, 10)
    clock.set(JAN[11] + timedelta(hours=2))
    assert run_job(session, "rollups", clock=clock, registry=registry).counts == {
        "days": 2
    }  # the 9th again, and the 10th
    assert days_due(session, program, clock.now()) == [date(2026, 1, 10)]

    # A transaction that read the clock on the 10th commits after the 10th was summed.
    clock.set(JAN[11] - timedelta(seconds=1))
    from loyalty.programs.members import get_member

    Ledger(session, clock).earn(get_member(session, program, "c-cy"), 7, key="late")
    session.commit()
    assert {v.invariant for v in verify(session)} == {"rollups"}
    clock.set(JAN[11] + timedelta(hours=3))
    assert run_job(session, "rollups", clock=clock, registry=registry).counts == {"days": 1}
    assert verify(session) == []
    same_figures(session, program, clock.now())


def test_a_program_without_entries_and_a_clock_that_went_back(session, program, clock, registry):
    run_job(session, "rollups", clock=clock, registry=registry)
    assert program.rolled_up_until == START.date()  # nothing before today to sum
    clock.set(START - 5 * DAY)
    assert run_job(session, "rollups", clock=clock, registry=registry).counts == {"days": 0}
    assert program.rolled_up_until == START.date()  # the mark never moves back
    assert session.scalar(select(DailyFigure)) is None


@pytest.mark.corrupts_ledger
def test_verify_finds_a_rolled_up_day_or_a_last_active_day_that_the_ledger_does_not_say(
    session, busy_program, clock, registry
):
    clock.set(JAN[12])
    run_job(session, "rollups", clock=clock, registry=registry)
    assert verify(session) == []
    session.execute(
        update(DailyFigure)
        .where(DailyFigure.day == date(2026, 1, 2), DailyFigure.figure == "entries:redeem")
        .values(value=99)
    )
    session.execute(update(MemberActivity).values(last_active_on=date(2025, 12, 1)))
    session.commit()
    found = [str(v) for v in verify(session)]
    assert any("day 2026-01-02 rolled up as" in f and "'entries:redeem': 99" in f for f in found)
    assert any("last active on 2025-12-01 in the roll-up" in f for f in found)
    assert {v.invariant for v in verify(session)} == {"rollups"}


def test_rolling_up_while_members_earn_into_the_same_day(app, session, program, member_factory, clock):
    """A day summed again and again while members keep earning into it: no error, and after a last run, exact."""
    from loyalty.db import db
    from loyalty.models import Program
    from loyalty.programs.members import get_member
    from loyalty.reporting.rollups import roll_up

    for n in range(6):
        member_factory(f"c-{n}")
    clock.set(JAN[2] - timedelta(seconds=1))  # postings read the clock late on 1 January
    program_id = program.id
    session.rollback()  # on SQLite a reading transaction here would hold the one write lock the threads need

    def work(n):
        target = db.session.get(Program, program_id)
        if n == 6:  # the job, two hours into 2 January
            return sum(roll_up(db.session, target, JAN[2] + timedelta(hours=2)) for _ in range(10))
        ledger, member = Ledger(db.session, clock), get_member(db.session, target, f"c-{n}")
        for k in range(10):
            ledger.earn(member, 10 + n, key=f"e-{n}-{k}")
            db.session.commit()
        return 0

    run_together(app, 7, work)
    session.expire_all()
    roll_up(session, program, JAN[2] + timedelta(hours=3))
    assert verify(session) == []
    rolled = figures(session, program, JAN[1] - DAY, JAN[2] + timedelta(hours=3))
    assert rolled.issued == sum(10 * (10 + n) for n in range(6)) and rolled.active_members == 6
    assert dataclasses.replace(rolled, rolled_up_until=None) == figures(
        session, unrolled(program), JAN[1] - DAY, JAN[2] + timedelta(hours=3)
    )
