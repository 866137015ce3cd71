"""The program's dashboard: figures for a period (a preset or chosen dates) and a chart of points per day."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.periods import chosen_dates, last_days
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.reporting.dashboard import daily_points, figures

PERIODS = (7, 30, 90, 365)


@bp.route("/<program_slug>/")
@admin_view()
def dashboard(program):
    now = current_clock().now()
    period, error = chosen_dates(request.args, now)
    if period is None:  # no dates, or refused ones (the error says why): a preset
        days = request.args.get("days", type=int)
        period = last_days(days if days in PERIODS else 30, now)
    report = figures(db.session, program, period.since, period.until)
    chart = daily_points(db.session, program, period.since, period.until)
    return render_template(
        "admin/dashboard.html",
        program=program,
        report=report,
        period=period,
        periods=PERIODS,
        error=error,
        chart=_bars(chart, period.first_day, (period.last_day - period.first_day).days),
    )


def _bars(rows, first_day, days: int, width: int = 720, height: int = 160) -> dict:
    """Bar geometry for the SVG chart, one slot per day of the period (drawn by the template; no JavaScript)."""
    top = max([max(issued, redeemed) for _, issued, redeemed in rows] or [0]) or 1
    step = width / (days + 1)
    bars = []
    for day, issued, redeemed in rows:
        slot = (day - first_day).days
        bars.append(
            {
                "day": day,
                "issued": issued,
                "redeemed": redeemed,
                "x": slot * step,
                "w": max(step / 2 - 1, 1),
                "hi": issued / top * height,
                "hr": redeemed / top * height,
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "top": top,
        "first": first_day,
        "last": first_day + timedelta(days=days),
    }
