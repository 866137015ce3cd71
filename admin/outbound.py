"""Outbound webhooks in the admin: the program's endpoints, what was sent to them, replays and test events.

Who may do what follows the rest of the admin. Endpoints carry a signing
secret and decide where the program's data goes, so adding, rotating,
removing, enabling and disabling them is an owner's
(``admin_view(owner=True)``), as store connections and API keys are.
Replaying a delivery and sending a test event only send again what an
owner set up, so managers may too (``admin_view(change=True)``); a viewer
only looks.

A new secret is shown once, in the answer to the POST that made it (never
flashed, never kept, ``Cache-Control: no-store``); every page after shows
it masked, and the audit log keeps only the masked form. An endpoint the
platform disabled (every delivery failed for days) says so at the top,
with the reason and an Enable button. The rules are the service's
(:mod:`loyalty.messages.destinations`), shared with ``loyalty outbound``.
"""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.inputs import given_id
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.messages import destinations
from loyalty.messages.catalog import EVENT_TYPES
from loyalty.messages.sending import BACKOFF, MAX_ATTEMPTS
from loyalty.models import DELIVERY_STATUSES
from loyalty.registry import current_registry

PAGE = 50


def _back(program):
    return redirect(url_for("admin.outbound", program_slug=program.slug))


def _page(program, *, new_secret=None, added=None, values=None, problems=None):
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATUSES else None
    endpoints = destinations.find(db.session, program=program)
    chosen = given_id(request.args, "endpoint")
    endpoint = next((d for d in endpoints if d.id == chosen), None)
    rows = destinations.deliveries(db.session, program=program, destination=endpoint, status=status, limit=PAGE)
    registry = current_registry()
    response = make_response(
        render_template(
            "admin/outbound.html",
            program=program,
            endpoints=endpoints,
            configs={d.id: destinations.masked(d, registry) for d in endpoints},
            names={d.id: d.name for d in endpoints},
            deliveries=rows,
            statuses=DELIVERY_STATUSES,
            status=status,
            endpoint=endpoint,
            event_types=EVENT_TYPES,
            replayable=destinations.REPLAYABLE,
            new_secret=new_secret,
            added=added,
            values=values or {},
            errors=problems or {},
            schedule=", ".join(_said(wait) for wait in BACKOFF),
            attempts=MAX_ATTEMPTS,
        )
    )
    if new_secret:
        response.headers["Cache-Control"] = "no-store"  # the one page with the secret: not kept by the browser
    return response


def _said(wait) -> str:
    seconds = int(wait.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _endpoint(program, destination_id):
    try:
        return destinations.get(db.session, destination_id, program=program)
    except errors.UnknownDestination:
        abort(404)


def _audit(program, action, destination_id, *, before=None, after=None):
    audit(
        db.session,
        current_user,
        f"outbound.{action}",
        program=program,
        target=f"destination:{destination_id}",
        before=before,
        after=after,
        clock=current_clock(),
    )


@bp.route("/<program_slug>/outbound")
@admin_view()
def outbound(program):
    """The endpoints with their status, the newest deliveries (by status, by endpoint), and the forms."""
    return _page(program)


@bp.route("/<program_slug>/outbound/add", methods=["POST"])
@admin_view(owner=True)
def outbound_add(program):
    """Owners: a new endpoint; its signing secret is shown in this answer only."""
    form = request.form
    events = form.getlist("events")
    values = {"url": form.get("url", ""), "name": form.get("name", ""), "events": events}
    try:
        destination = destinations.add(
            db.session,
            program,
            channel="webhook",
            config={"url": form.get("url", "").strip()},
            events=["all"] if "all" in events else events,
            name=form.get("name") or None,
            clock=current_clock(),
            registry=current_registry(),
            settings=current_app.config,
        )
        masked = destinations.masked(destination, current_registry())
        _audit(program, "add", destination.id, after={**masked, "events": destination.events})
        db.session.commit()
    except errors.LoyaltyError as exc:
        db.session.rollback()
        flash(f"Not added: {exc.message}", "error")
        return _page(program, values=values, problems=exc.details.get("fields") or {})
    flash(f"Endpoint added: {destination.name}. Copy its signing secret now: it is not shown again.", "ok")
    return _page(program, new_secret=destination.config["secret"], added=destination)


@bp.route("/<program_slug>/outbound/<id:destination_id>/<any(enable, disable):action>", methods=["POST"])
@admin_view(owner=True)
def outbound_state(program, destination_id, action):
    """Owners: send to an endpoint again (also after the platform disabled it), or stop sending to it."""
    destination = _endpoint(program, destination_id)
    before = {"status": destination.status, "reason": destination.disabled_reason}
    if action == "enable":
        destinations.enable(db.session, destination, clock=current_clock())
        message = f"{destination.name} is active: what waited for it goes now."
    else:
        destinations.disable(db.session, destination, clock=current_clock(), by=current_user.email)
        message = f"{destination.name} is disabled: nothing is sent to it until it is enabled."
    _audit(
        program,
        action,
        destination.id,
        before=before,
        after={"status": destination.status, "reason": destination.disabled_reason},
    )
    db.session.commit()
    flash(message, "ok")
    return _back(program)


@bp.route("/<program_slug>/outbound/<id:destination_id>/<any(rotate, remove):action>", methods=["GET", "POST"])
@admin_view(owner=True)
def outbound_confirm(program, destination_id, action):
    """Owners: confirm, then rotate the secret (the new one shown this once) or remove the endpoint with its history.

    The form names the secret it replaces (masked): sending it again (a reload of the answer) finds another one
    and rotates nothing.
    """
    if current_user.role != "owner":
        abort(403)
    destination = _endpoint(program, destination_id)
    masked = destinations.masked(destination, current_registry())
    if request.method == "GET":
        count = destinations.delivery_count(db.session, destination)
        return render_template(
            "admin/outbound_confirm.html",
            program=program,
            destination=destination,
            action=action,
            secret=masked.get("secret"),
            count=count,
        )
    if action == "remove":
        gone = destinations.remove(db.session, destination)
        _audit(program, "remove", destination_id, before={**masked, "events": destination.events, "deliveries": gone})
        db.session.commit()
        flash(f"Removed {destination.name} and its {gone} deliveries.", "ok")
        return _back(program)
    if request.form.get("replaces") != masked.get("secret"):
        flash("The secret changed since that page was shown (rotated already?): nothing was done.", "error")
        return _back(program)
    fresh = destinations.rotate(db.session, destination, clock=current_clock(), registry=current_registry())
    _audit(
        program,
        "rotate",
        destination.id,
        before={"secret": masked["secret"]},
        after={"secret": destinations.mask(fresh["secret"])},
    )
    db.session.commit()
    flash("New signing secret made: copy it now, it is not shown again. The old one signs nothing from now on.", "ok")
    return _page(program, new_secret=fresh["secret"], added=destination)


@bp.route("/<program_slug>/outbound/<id:destination_id>/test", methods=["POST"])
@admin_view(change=True)
def outbound_test(program, destination_id):
    """Owners and managers: a sample event of the chosen type (``"test": true``), for this endpoint only."""
    destination = _endpoint(program, destination_id)
    event_type = request.form.get("event_type", "")
    try:
        delivery = destinations.send_test(db.session, destination, event_type, clock=current_clock())
        _audit(program, "test", destination.id, after={"event_type": event_type, "delivery": delivery.id})
        db.session.commit()
    except errors.LoyaltyError as exc:
        db.session.rollback()
        flash(f"Not sent: {exc.message}", "error")
        return _back(program)
    flash(
        f"Test event {event_type} queued for {destination.name} (delivery {delivery.id}): "
        "the worker sends it within seconds, the scheduler within a minute.",
        "ok",
    )
    return _back(program)


@bp.route("/<program_slug>/outbound/deliveries/<id:delivery_id>/replay", methods=["POST"])
@admin_view(change=True)
def outbound_replay(program, delivery_id):
    """Owners and managers: send a finished delivery again, now, with the same webhook-id."""
    try:
        delivery = destinations.get_delivery(db.session, delivery_id, program=program)
    except errors.UnknownMessageDelivery:
        abort(404)
    before = {"status": delivery.status, "attempts": delivery.attempts, "error": delivery.last_error}
    try:
        destinations.replay(db.session, delivery, clock=current_clock(), registry=current_registry())
        _audit(program, "replay", delivery.destination_id, before=before, after={"delivery": delivery.id})
        db.session.commit()
    except errors.LoyaltyError as exc:
        db.session.rollback()
        flash(f"Not replayed: {exc.message}", "error")
        return _back(program)
    flash(f"Delivery {delivery.id} is due again (attempts from zero, the same webhook-id).", "ok")
    return _back(program)
