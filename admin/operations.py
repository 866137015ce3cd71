"""Operations: the webhook inbox (filter, open, replay), the scheduled jobs (last runs, run now), the plugins."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.inputs import given_id
from loyalty.admin.labels import label
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.jobs import JOBS, recent_runs, run_job
from loyalty.models import Storefront, WebhookDelivery
from loyalty.models.webhooks import DELIVERY_STATUSES
from loyalty.registry import current_registry
from loyalty.webhooks.inbox import replay

PAGE = 50


@bp.route("/<program_slug>/inbox")
@admin_view()
def inbox(program):
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUSES else None
    stores = dict(
        db.session.execute(select(Storefront.id, Storefront.type).where(Storefront.program_id == program.id)).all()
    )
    store = request.args.get("storefront") if request.args.get("storefront") in stores.values() else None
    query = select(WebhookDelivery).where(WebhookDelivery.program_id == program.id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if store:
        query = query.where(WebhookDelivery.storefront_id.in_([i for i, t in stores.items() if t == store]))
    before = given_id(request.args, "before")
    if before:
        query = query.where(WebhookDelivery.id < before)
    rows = list(db.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(PAGE + 1)))
    return render_template(
        "admin/inbox.html",
        program=program,
        deliveries=rows[:PAGE],
        stores=stores,
        statuses=DELIVERY_STATUSES,
        status=status,
        store=store,
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
    )


@bp.route("/<program_slug>/inbox/<id:delivery_id>", methods=["GET", "POST"])
@admin_view(change=True)
def delivery(program, delivery_id):
    found = db.session.get(WebhookDelivery, delivery_id)
    if found is None or found.program_id != program.id:
        abort(404)
    if request.method == "POST":
        before = {"status": found.status, "error": found.last_error}
        db.session.commit()  # replay runs in its own transaction
        done = replay(db.session, delivery_id, registry=current_registry())
        audit(
            db.session,
            current_user,
            "delivery.replay",
            program=program,
            target=f"delivery:{delivery_id}",
            before=before,
            after={"status": done.status, "error": done.last_error},
            clock=current_clock(),
        )
        db.session.commit()
        flash(
            f"Delivery {delivery_id} replayed: {done.status}" + (f" ({done.last_error})" if done.last_error else ""),
            "ok" if done.status in ("processed", "ignored") else "error",
        )
        return redirect(url_for("admin.delivery", program_slug=program.slug, delivery_id=delivery_id))
    store = db.session.get(Storefront, found.storefront_id)
    body = found.body.decode("utf-8", errors="replace")
    return render_template("admin/delivery.html", program=program, delivery=found, store=store, body=body)


@bp.route("/<program_slug>/jobs", methods=["GET", "POST"])
@admin_view(change=True)
def jobs(program):
    if request.method == "POST":
        name = request.form.get("job", "")
        if name not in JOBS and name != f"tiers:{program.slug}":
            abort(400)
        if name in JOBS and not (current_user.role == "owner" and not current_user.programs):
            abort(403)  # these run for every program: only an owner who sees them all starts one
        run = run_job(db.session, name, trigger="admin", registry=current_registry(), clock=current_clock())
        audit(
            db.session,
            current_user,
            "job.run",
            program=program,
            target=f"job:{name}",
            after={"status": run.status, "counts": run.counts, "error": run.error},
            clock=current_clock(),
        )
        db.session.commit()
        flash(
            f"{label('job', name)}: {run.status}" + (f" ({run.error})" if run.error else ""),
            "ok" if run.status == "succeeded" else "error",
        )
        return redirect(url_for("admin.jobs", program_slug=program.slug))
    names = [name for name in JOBS if name != "tiers"] + [f"tiers:{program.slug}"]
    return render_template(
        "admin/jobs.html",
        program=program,
        runs=recent_runs(db.session, limit=50),
        names=names,
        timetable={name: cron for name, (_, cron) in JOBS.items()} | {f"tiers:{program.slug}": program.tier_cron},
    )


@bp.route("/<program_slug>/plugins")
@admin_view()
def plugins(program):
    rows = [
        (plugin, [hook for hook in plugin.hooks if not hook.startswith("register_")])
        for plugin in current_registry().plugins()
    ]
    return render_template(
        "admin/plugins.html", program=program, rows=rows, safe_mode=bool(current_app.config.get("SAFE_MODE"))
    )
