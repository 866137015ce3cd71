"""The period a page shows, chosen as two dates: parsed and checked in one place for the dashboard and finance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from loyalty.reporting.periods import TICK, midnight

#: The longest period one can choose: the dashboard's chart keeps a slot per day.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """``(since, until]``, and the days it shows."""

    since: datetime
    until: datetime
    first_day: date
    last_day: date
    #: The preset chosen (the last N days), if one was.
    days: int | None = None


def last_days(days: int, now: datetime) -> Period:
    """The last ``days`` × 24 hours up to now."""
    since = now - timedelta(days=days)
    return Period(since, now, since.date(), now.date(), days)


def whole_days(first: date, last: date, now: datetime) -> Period:
    """UTC days ``first`` to ``last``, both included; a period reaching today ends now."""
    last = min(last, now.date())
    return Period(midnight(first) - TICK, min(midnight(last + timedelta(days=1)) - TICK, now), first, last)


def chosen_dates(args, now: datetime) -> tuple[Period | None, str | None]:
    """The period of ``?from=YYYY-MM-DD&to=YYYY-MM-DD``: none if neither was given, or why the dates are refused."""
    if "from" not in args and "to" not in args:
        return None, None
    try:
        first, last = date.fromisoformat(args.get("from", "")), date.fromisoformat(args.get("to", ""))
    except ValueError:
        return None, "Give both dates of the period as YYYY-MM-DD."
    if first > last:
        return None, "The period's first day is after its last."
    if first > now.date():
        return None, "The period starts after today."
    if (last - first).days >= MAX_DAYS:
        return None, f"Choose at most {MAX_DAYS} days."
    return whole_days(first, last, now), None
