"""Finance: the rollforward for a period and breakage by cohort, on the page and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone

from flask import Response, render_template, request

from loyalty.admin import bp
from loyalty.admin.access import admin_view
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.finance import LINES, breakage, rollforward


def _period() -> tuple[datetime, datetime]:
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (whole UTC days, both included); the last 30 days by default."""
    today = current_clock().now().date()

    def day(name, default):
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return default

    first, last = day("from", today - timedelta(days=29)), day("to", today)
    if first > last:
        first, last = last, first
    return (datetime.combine(first, time(), tzinfo=timezone.utc) - timedelta(microseconds=1),
            datetime.combine(last + timedelta(days=1), time(), tzinfo=timezone.utc) - timedelta(microseconds=1))


@bp.route("/<program_slug>/finance")
@admin_view()
def finance(program):
    since, until = _period()
    report = rollforward(db.session, program, since, until)
    cohorts = breakage(db.session, program)
    if request.args.get("format") == "csv":
        return _csv(program, report, cohorts, request.args.get("table", "rollforward"))
    return render_template("admin/finance.html", program=program, report=report, lines=LINES, cohorts=cohorts,
                           first=(since + timedelta(microseconds=1)).date(), last=until.date())


def _csv(program, report, cohorts, table: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "breakage":
        writer.writerow(["month", "points_earned", "points_expired_unspent", "breakage"])
        for month, earned, expired in cohorts:
            writer.writerow([month, earned, expired, f"{expired / earned:.4f}" if earned else ""])
    else:
        writer.writerow(["line", "points"])
        writer.writerow(["opening_balance", report.opening])
        for line in LINES:
            writer.writerow([line, report.lines[line]])
        writer.writerow(["closing_balance", report.closing])
    name = f"{program.slug}-{table}-{(report.since + timedelta(microseconds=1)).date()}-{report.until.date()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
