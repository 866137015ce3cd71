"""Reading an additive figure over a period: whole rolled-up days from ``daily_figures``, the rest live.

The ``rollups`` job (:mod:`loyalty.reporting.rollups`) sums each ended UTC day into
``daily_figures``; ``programs.rolled_up_until`` is the first day it has
not summed. A report asks for ``[start, end)``; :func:`plan` splits that
into the whole days before the mark and the live ranges around them
(the rest of the first day, everything from the mark on), and
:func:`sum_figures` adds the two. Without roll-ups everything is live, so
a figure is the same either way; ``tests/test_rollups.py`` checks that.

Ranges are half-open, ``[start, end)``, with ``None`` for "since the
beginning" or "to the end". Timestamps are stored to the microsecond, so a
report's ``(since, until]`` is ``[since + TICK, until + TICK)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.models import DailyFigure

ONE_DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)

#: ``live(start, end)``: the figures of ``[start, end)`` counted from the ledger.
Live = Callable[[datetime | None, datetime | None], dict[str, int]]


def midnight(day: date) -> datetime:
    """The UTC instant a day begins."""
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def between(column, start: datetime | None, end: datetime | None) -> tuple:
    """Conditions for ``start <= column < end``, leaving out an open side."""
    return ((column >= start,) if start is not None else ()) + ((column < end,) if end is not None else ())


@dataclass(frozen=True)
class Plan:
    """How ``[start, end)`` splits into rolled-up days and live ranges."""

    start: datetime | None
    end: datetime | None
    #: Whether whole rolled-up days are used: ``[first_day, cut_day)`` (no first day: from the first one).
    rolled: bool
    first_day: date | None
    cut_day: date | None
    #: Whether the rolled-up days reach the mark (member activity is known only up to it).
    to_mark: bool
    #: The live ranges, ``[a, b)`` each; empty ones left out.
    live: tuple[tuple[datetime | None, datetime | None], ...]


def plan(program, start: datetime | None, end: datetime | None) -> Plan:
    """``program`` needs only ``rolled_up_until``."""
    mark = program.rolled_up_until
    cut = None if mark is None else mark if end is None else min(mark, end.date())
    first = None if start is None else start.date() if start == midnight(start.date()) else start.date() + ONE_DAY
    if cut is None or (first is not None and cut <= first):
        return Plan(start, end, False, None, None, False, ((start, end),))
    live = [(start, midnight(first))] if start is not None else []
    live.append((midnight(cut), end))
    return Plan(
        start, end, True, first, cut, cut == mark, tuple((a, b) for a, b in live if a is None or b is None or a < b)
    )


def rolled_totals(session: Session, program_id: int, first: date | None, end: date, prefix: str) -> dict[str, int]:
    """The rolled-up figures starting with ``prefix``, summed over days ``[first, end)``."""
    query = (
        select(DailyFigure.figure, func.sum(DailyFigure.value))
        .where(
            DailyFigure.program_id == program_id,
            DailyFigure.figure.startswith(prefix),
            *between(DailyFigure.day, first, end),
        )
        .group_by(DailyFigure.figure)
    )
    return {name: int(value) for name, value in session.execute(query)}


def sum_figures(session: Session, program_id: int, period: Plan, prefix: str, live: Live) -> dict[str, int]:
    """The figures named ``prefix…`` over the planned period: rolled-up days plus the live ranges."""
    totals = Counter()
    if period.rolled:
        totals.update(rolled_totals(session, program_id, period.first_day, period.cut_day, prefix))
    for start, end in period.live:
        totals.update(live(start, end))
    return {name: value for name, value in totals.items() if value}


def utc_day(session: Session, column):
    """The UTC date of a timestamp column, in SQL (PostgreSQL's ``date()`` would use the session's time zone)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC


def utc_month(session: Session, column):
    """``YYYY-MM`` of a timestamp column in UTC, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)
