"""E-mail to members: whether SMTP is set up, the program's sender, its six templates with a preview, recent e-mails.

Owners and managers switch e-mail on and off and edit the templates
(``admin_view(change=True)``); viewers see everything and may preview.
Templates are checked before they are saved (:func:`loyalty.messages.templates.check`):
a part that does not parse or names something a message does not have is
refused, with its message under the part. The SMTP password is never
shown: the page shows the server as :meth:`status` words it.

The preview is the e-mail as members get it, rendered for a sample member
(or a real one, by external id) on sample event data, in a sandboxed
frame: ``preview`` answers with a document of its own whose
Content-Security-Policy lets the e-mail's inline styles apply and nothing
run (``sandbox``, no scripts, no requests but images). The edit form's
"Preview" button posts the unsaved parts into that frame.
"""

from __future__ import annotations

import json

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.messages import mailing, samples, templates
from loyalty.models import Delivery, Member, MessageTemplate
from loyalty.programs.members import find_member
from loyalty.registry import current_registry

#: What each template is, in the admin's words.
TITLES = {
    "member.enrolled": "Welcome",
    "points.earned": "Points earned (at most one an hour, the points summed)",
    "points.expiring": "Points expiring soon",
    "tier.changed": "Tier reached",
    "reward.redeemed": "Reward issued, with its code",
    "referral.completed": "Referral reward (to the referrer)",
}
#: The frame's own policy: the e-mail's inline styles and images apply; no script, form, plugin or request runs.
PREVIEW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; sandbox; frame-ancestors 'self'"
SENDER_FIELDS = ("from_address", "from_name", "reply_to")
RECENT = 20


def _channel():
    try:
        return mailing.channel_of(current_registry())
    except errors.NotFound:
        abort(404)


def _kind(channel, kind: str) -> str:
    if kind not in channel.templates:
        abort(404)
    return kind


def _sender(row) -> dict:
    config = dict(row.config) if row else {}
    return {name: config.get(name) or "" for name in SENDER_FIELDS}


@bp.route("/<program_slug>/email", methods=["GET", "POST"])
@admin_view(change=True)
def email(program):
    """SMTP's state, the sender (saving it switches e-mail on), the templates and the latest e-mails."""
    channel = _channel()
    row = mailing.destination(db.session, program)
    problems, values = {}, _sender(row)
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in SENDER_FIELDS}
        before = {"status": row.status, **_sender(row)} if row else None
        try:
            row = mailing.enable(db.session, program, registry=current_registry(), clock=current_clock(), **values)
            audit(
                db.session,
                current_user,
                "email.enable",
                program=program,
                target=f"destination:{row.id}",
                before=before,
                after={"status": row.status, **_sender(row)},
                clock=current_clock(),
            )
            db.session.commit()
            flash(f"E-mail is on: members get it from {row.config['from_address']}.", "ok")
            return redirect(url_for("admin.email", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            row = mailing.destination(db.session, program)
            problems = exc.details.get("fields") or {}
            flash(f"Not saved: {exc.message}", "error")
    own = {
        template.kind
        for template in db.session.scalars(
            select(MessageTemplate).where(
                MessageTemplate.program_id == program.id, MessageTemplate.channel == channel.name
            )
        )
    }
    recent = []
    if row is not None:
        recent = db.session.execute(
            select(Delivery, Member.external_id)
            .outerjoin(Member, Member.id == Delivery.member_id)
            .where(Delivery.destination_id == row.id)
            .order_by(Delivery.id.desc())
            .limit(RECENT)
        ).all()
    return render_template(
        "admin/email.html",
        program=program,
        smtp_problem=channel.unavailable(current_app.config),
        smtp_status=channel.status(current_app.config),
        public_url=current_app.config.get("PUBLIC_URL"),
        destination=row,
        values=values,
        errors=problems,
        kinds=[(kind, TITLES.get(kind, kind), kind in own) for kind in channel.templates],
        recent=recent,
    )


@bp.route("/<program_slug>/email/disable", methods=["POST"])
@admin_view(change=True)
def email_disable(program):
    if mailing.disable(db.session, program, clock=current_clock()):
        audit(
            db.session,
            current_user,
            "email.disable",
            program=program,
            target=f"destination:{mailing.destination(db.session, program).id}",
            before={"status": "active"},
            after={"status": "disabled"},
            clock=current_clock(),
        )
        db.session.commit()
        flash("E-mail is off: members get none until it is switched on again. Settings and templates are kept.", "ok")
    else:
        flash("E-mail was not on.", "ok")
    return redirect(url_for("admin.email", program_slug=program.slug))


def _parts_from(form) -> dict:
    return {part: form.get(part, "") for part in templates.PARTS}


def _template_page(program, channel, kind, *, values, problems=None, member_id=""):
    sample_event = samples.EVENTS.get(kind, [{}])
    return render_template(
        "admin/email_template.html",
        program=program,
        kind=kind,
        title=TITLES.get(kind, kind),
        values=values,
        defaults=templates.default_wording(channel, kind),
        errors=problems or {},
        member_id=member_id,
        sample_event=json.dumps(sample_event[0], indent=2, ensure_ascii=False),
        digest=kind in channel.digests,
        customised=templates.own_template(db.session, channel.name, kind, program.id) is not None,
    )


@bp.route("/<program_slug>/email/<kind>", methods=["GET", "POST"])
@admin_view(change=True)
def email_template(program, kind):
    """One template's subject, text and HTML (the program's own, or the default's as a start), saved when it checks."""
    channel = _channel()
    kind = _kind(channel, kind)
    if request.method == "POST":
        parts = _parts_from(request.form)
        before = templates.wording(db.session, channel, kind, program.slug)
        try:
            templates.save(db.session, channel, kind, program, parts, at=current_clock().now())
            after = templates.wording(db.session, channel, kind, program.slug)
            changed = [part for part in templates.PARTS if before[part] != after[part]]
            if changed:
                audit(
                    db.session,
                    current_user,
                    "email.template",
                    program=program,
                    target=f"email:{kind}",
                    before={part: before[part] for part in changed},
                    after={part: after[part] for part in changed},
                    clock=current_clock(),
                )
            db.session.commit()
            flash("Template saved: the next e-mails use it." if changed else "Nothing changed.", "ok")
            return redirect(url_for("admin.email_template", program_slug=program.slug, kind=kind))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not saved: {exc.message}", "error")
            return _template_page(program, channel, kind, values=parts, problems=exc.details.get("fields") or {}), 422
    return _template_page(program, channel, kind, values=templates.wording(db.session, channel, kind, program.slug))


@bp.route("/<program_slug>/email/<kind>/reset", methods=["POST"])
@admin_view(change=True)
def email_template_reset(program, kind):
    channel = _channel()
    kind = _kind(channel, kind)
    before = templates.wording(db.session, channel, kind, program.slug)
    if templates.reset(db.session, channel.name, kind, program):
        audit(
            db.session,
            current_user,
            "email.template_reset",
            program=program,
            target=f"email:{kind}",
            before=before,
            after=templates.default_wording(channel, kind),
            clock=current_clock(),
        )
        db.session.commit()
        flash("Back to the default wording.", "ok")
    else:
        flash("It was the default wording already.", "ok")
    return redirect(url_for("admin.email_template", program_slug=program.slug, kind=kind))


@bp.route("/<program_slug>/email/<kind>/preview", methods=["GET", "POST"])
@admin_view()
def email_preview(program, kind):
    """The frame's document: the e-mail (the posted parts, else the saved wording) for a sample or a real member."""
    channel = _channel()
    kind = _kind(channel, kind)
    source = request.form if request.method == "POST" else request.args
    external_id = source.get("member", "").strip()[:255]
    member = find_member(db.session, program, external_id) if external_id and "\x00" not in external_id else None
    parts = _parts_from(request.form) if request.method == "POST" else None
    try:
        rendered = templates.preview(
            db.session, channel, kind, program=program, member=member, parts=parts, settings=current_app.config
        )
        problems = {}
    except templates.InvalidTemplate as exc:
        rendered, problems = None, exc.problems
    sender = _sender(mailing.destination(db.session, program))
    response = make_response(
        render_template(
            "admin/email_preview.html",
            program=program,
            rendered=rendered,
            errors=problems,
            sender=sender["from_address"] or "(the from-address)",
            to=(member.email if member else samples.MEMBER["email"]) or "(no e-mail address: none is sent)",
            unknown_member=external_id if external_id and member is None else None,
        )
    )
    db.session.rollback()
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
