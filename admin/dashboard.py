"""The program's dashboard: figures for a period and a chart of points issued and redeemed per day."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from loyalty.admin import bp
from loyalty.admin.access import admin_view
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.reports import daily_points, figures

PERIODS = (7, 30, 90, 365)


@bp.route("/<program_slug>/")
@admin_view()
def dashboard(program):
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else 30
    until = current_clock().now()
    since = until - timedelta(days=days)
    report = figures(db.session, program, since, until)
    chart = daily_points(db.session, program, since, until)
    return render_template("admin/dashboard.html", program=program, report=report, days=days, periods=PERIODS,
                           chart=_bars(chart, since.date(), days))


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
