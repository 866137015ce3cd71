"""The audit log: every change a person made in the admin, newest first."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.inputs import given_id
from loyalty.db import db
from loyalty.models import AuditEntry

PAGE = 100


@bp.route("/<program_slug>/audit")
@admin_view()
def audit_log(program):
    query = select(AuditEntry).where(AuditEntry.program_id == program.id)
    before = given_id(request.args, "before")
    if before:
        query = query.where(AuditEntry.id < before)
    rows = list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(PAGE + 1)))
    return render_template(
        "admin/audit.html",
        program=program,
        entries=rows[:PAGE],
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
    )
