"""Finance: the rollforward for a period and breakage by cohort, on the page and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Response, render_template, request

from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.periods import chosen_dates, whole_days
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.reporting.finance import LINES, breakage, rollforward


@bp.route("/<program_slug>/finance")
@admin_view()
def finance(program):
    now = current_clock().now()
    period, error = chosen_dates(request.args, now)
    if period is None:  # no dates, or refused ones (the error says why): the last 30 days
        period = whole_days(now.date() - timedelta(days=29), now.date(), now)
    report = rollforward(db.session, program, period.since, period.until)
    cohorts = breakage(db.session, program)
    if request.args.get("format") == "csv":
        return _csv(program, report, cohorts, request.args.get("table", "rollforward"))
    return render_template(
        "admin/finance.html",
        program=program,
        report=report,
        lines=LINES,
        cohorts=cohorts,
        first=period.first_day,
        last=period.last_day,
        error=error,
    )


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
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
