"""Daily roll-ups of a program's figures, so the dashboard reads a year as a few hundred rows.

Why: with a million members, a year's figures summed live read a million
entries, two million transfers' worth of balances and every member's
activity: seconds on SQLite. The ``rollups`` job instead sums each UTC
day once, after it ended, into

* ``daily_figures``: the points each entry kind moved that day
  (``entries:earn``…), what that day's transfers changed in members'
  balances (``balance:available``, ``balance:pending``), the day's
  rollforward lines (``rollforward:issued``…) and breakage cohorts
  (``cohort:2026-01:earned``, ``cohort:2026-01:expired``: see
  :mod:`loyalty.reporting.finance`);
* ``member_activity``: each member's last rolled-up day with an earning or
  a spending, so "active members since day D" is one index range.

``programs.rolled_up_until`` marks the first day not rolled up. Readers
(:mod:`loyalty.reporting.periods`, used by the dashboard and finance) take whole days
before the mark from here and everything else live from the ledger, so a
figure is the same with or without roll-ups.

A day is rolled up once it ended :data:`SETTLE` ago, so a transaction that
read the clock just before midnight has committed. Each run also sums the
last rolled-up day again: an entry that committed later still (up to a day)
is counted at the next run. The roll-ups are a cache of the immutable
ledger; ``loyalty verify`` recomputes every rolled-up day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Date

from loyalty.models import Account, DailyFigure, Entry, MemberActivity, Program, Transfer
from loyalty.reporting.finance import cohort_changes, flows_by_line
from loyalty.reporting.periods import ONE_DAY, between, midnight

#: How long after its end a day is rolled up.
SETTLE = timedelta(hours=1)
#: The entry kinds that make a member active: earning and spending points.
ACTIVE_KINDS = ("earn", "redeem")


def entry_totals(session: Session, program_id: int, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """Points moved per entry kind in ``[start, end)`` as ``entries:<kind>`` (the amount asked, shortfall included)."""
    return {
        f"entries:{kind}": int(amount)
        for kind, amount in session.execute(
            select(Entry.kind, func.sum(Entry.amount))
            .where(Entry.program_id == program_id, *between(Entry.created_at, start, end))
            .group_by(Entry.kind)
        )
    }


def balance_changes(session: Session, program_id: int, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """What the transfers of ``[start, end)`` added to members' balances per account kind, as ``balance:<kind>``.

    Zeros are left out: a day whose releases moved as much out of pending
    as came in has no ``balance:pending`` row.
    """
    totals: dict[str, int] = {}
    for side, sign in ((Transfer.to_account_id, 1), (Transfer.from_account_id, -1)):
        for kind, amount in session.execute(
            select(Account.kind, func.sum(Transfer.amount))
            .select_from(Entry)
            .join(Transfer, Transfer.entry_id == Entry.id)
            .join(Account, Account.id == side)
            .where(
                Entry.program_id == program_id, *between(Entry.created_at, start, end), Account.member_id.is_not(None)
            )
            .group_by(Account.kind)
        ):
            name = f"balance:{kind}"
            totals[name] = totals.get(name, 0) + sign * int(amount)
    return {name: value for name, value in totals.items() if value}


def range_totals(session: Session, program_id: int, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """Every figure ``daily_figures`` keeps, for ``[start, end)``."""
    return {
        **entry_totals(session, program_id, start, end),
        **balance_changes(session, program_id, start, end),
        **flows_by_line(session, program_id, start, end),
        **cohort_changes(session, program_id, start, end),
    }


def roll_up_day(session: Session, program_id: int, day: date) -> None:
    """(Re)compute one day's rows: replace its figures, move its active members' last day forward."""
    start, end = midnight(day), midnight(day + ONE_DAY)
    session.execute(delete(DailyFigure).where(DailyFigure.program_id == program_id, DailyFigure.day == day))
    totals = range_totals(session, program_id, start, end)
    if totals:
        session.execute(
            insert(DailyFigure),
            [{"program_id": program_id, "day": day, "figure": name, "value": value} for name, value in totals.items()],
        )
    active = (
        select(Entry.member_id, literal(program_id), literal(day, Date))
        .where(
            Entry.program_id == program_id,
            *between(Entry.created_at, start, end),
            Entry.kind.in_(ACTIVE_KINDS),
            Entry.member_id.is_not(None),
        )
        .group_by(Entry.member_id)
    )
    upsert = _dialect_insert(session)(MemberActivity).from_select(["member_id", "program_id", "last_active_on"], active)
    later = upsert.excluded.last_active_on > MemberActivity.last_active_on
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["member_id"],
            set_={"last_active_on": case((later, upsert.excluded.last_active_on), else_=MemberActivity.last_active_on)},
        )
    )


def _dialect_insert(session: Session):
    """``INSERT … ON CONFLICT`` is spelled the same on both backends, but SQLAlchemy builds it per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def days_due(session: Session, program: Program, now: datetime) -> list[date]:
    """The days the next run sums: the last rolled-up one again, then every settled day after it."""
    settled = (now - SETTLE).date()  # the first day that has not yet ended SETTLE ago
    if program.rolled_up_until is not None:
        first = program.rolled_up_until - ONE_DAY
    else:
        oldest = session.scalar(select(func.min(Entry.created_at)).where(Entry.program_id == program.id))
        first = oldest.date() if oldest is not None else settled
    return [first + ONE_DAY * n for n in range((settled - first).days)]


def roll_up(session: Session, program: Program, now: datetime) -> int:
    """Roll up the program's due days, committing after each, so a long history holds no lock for long.

    Returns how many days were summed. The mark only moves forward: a run
    with an earlier clock sums nothing it has not summed before.
    """
    days = days_due(session, program, now)
    for day in days:
        roll_up_day(session, program.id, day)
        if program.rolled_up_until is None or day + ONE_DAY > program.rolled_up_until:
            program.rolled_up_until = day + ONE_DAY
        session.commit()
    if not days and program.rolled_up_until is None:
        program.rolled_up_until = (now - SETTLE).date()  # no day with entries has ended: start here next time
        session.commit()
    return len(days)
