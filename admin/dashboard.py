"""The program's dashboard: figures for a period (a preset or chosen dates) and a chart of points per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import render_template, request

from loyalty.admin import bp
from loyalty.admin.access import admin_view
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.reports import TICK, daily_points, figures
from loyalty.rollups import midnight

PERIODS = (7, 30, 90, 365)
#: The longest period one can choose: the chart keeps a slot per day.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    first_day: date
    last_day: date
    #: The preset chosen, if one was.
    days: int | None = None


@bp.route("/<program_slug>/")
@admin_view()
def dashboard(program):
    now = current_clock().now()
    period, error = _chosen_period(request.args, now)
    report = figures(db.session, program, period.since, period.until)
    chart = daily_points(db.session, program, period.since, period.until)
    return render_template("admin/dashboard.html", program=program, report=report, period=period, periods=PERIODS,
                           error=error, chart=_bars(chart, period.first_day, (period.last_day - period.first_day).days))


def _chosen_period(args, now: datetime) -> tuple[Period, str | None]:
    """The last N days (a preset), or whole UTC days from one date to another; a bad choice says why, shows 30 days."""
    if "from" not in args and "to" not in args:
        days = args.get("days", type=int)
        return _last_days(days if days in PERIODS else 30, now), None
    try:
        first, last = date.fromisoformat(args.get("from", "")), date.fromisoformat(args.get("to", ""))
    except ValueError:
        error = "Give both dates of the period as YYYY-MM-DD."
    else:
        if first > last:
            error = "The period's first day is after its last."
        elif first > now.date():
            error = "The period starts after today."
        elif (last - first).days >= MAX_DAYS:
            error = f"Choose at most {MAX_DAYS} days."
        else:
            last = min(last, now.date())
            until = min(midnight(last + timedelta(days=1)) - TICK, now)
            return Period(midnight(first) - TICK, until, first, last), None
    return _last_days(30, now), error


def _last_days(days: int, now: datetime) -> Period:
    since = now - timedelta(days=days)
    return Period(since, now, since.date(), now.date(), days)


def _bars(rows, first_day, days: int, width: int = 720, height: int = 160) -> dict:
    """Bar geometry for the SVG chart, one slot per day of the period (drawn by the template; no JavaScript)."""
    top = max([max(issued, redeemed) for _, issued, redeemed in rows] or [0]) or 1
    step = width / (days + 1)
    bars = []
    for day, issued, redeemed in rows:
        slot = (day - first_day).days
        bars.append({"day": day, "issued": issued, "redeemed": redeemed, "x": slot * step,
                     "w": max(step / 2 - 1, 1), "hi": issued / top * height, "hr": redeemed / top * height})
    return {"bars": bars, "width": width, "height": height, "top": top, "first": first_day,
            "last": first_day + timedelta(days=days)}
