"""Program settings, store connections (secrets shown masked) and API keys (shown once)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.access.api_keys import create_key, list_keys, revoke_key
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.forms import not_saved
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models.program import CLAWBACK_POLICIES
from loyalty.programs.expiry import POLICIES
from loyalty.programs.program import update_program
from loyalty.programs.zones import zone_names
from loyalty.registry import current_registry
from loyalty.storefronts.connections import add_storefront, list_storefronts


def _settings(program) -> dict:
    return {
        "name": program.name,
        "timezone": program.timezone,
        "return_window_days": program.return_window_days,
        "clawback_policy": program.clawback_policy,
        "expiry_policy": program.expiry_policy,
        "expiry_after": program.expiry_after,
    }


@bp.route("/<program_slug>/settings", methods=["GET", "POST"])
@admin_view(change=True)
def settings(program):
    problems = {}
    form = _settings(program)
    if request.method == "POST":
        before = _settings(program)
        form = {key: request.form.get(key, "") for key in form}
        try:
            update_program(
                db.session,
                program,
                name=form["name"],
                return_window_days=form["return_window_days"],
                clawback_policy=form["clawback_policy"],
                expiry_policy=form["expiry_policy"],
                expiry_after=form["expiry_after"] or None,
                timezone=form["timezone"] or program.timezone,
            )
            audit(
                db.session,
                current_user,
                "program.settings",
                program=program,
                target=f"program:{program.slug}",
                before=before,
                after=_settings(program),
                clock=current_clock(),
            )
            db.session.commit()
            flash("Settings saved.", "ok")
            return redirect(url_for("admin.settings", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(not_saved(exc), "error")
    return render_template(
        "admin/settings.html",
        program=program,
        form=form,
        errors=problems,
        clawback_policies=CLAWBACK_POLICIES,
        expiry_policies=POLICIES,
        zones=zone_names(),
    )


@bp.route("/<program_slug>/connections", methods=["GET", "POST"])
@admin_view(owner=True)
def connections(program):
    """Store connections and API keys: owners change them; a new key is shown this once."""
    new_key = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "storefront":
                store = add_storefront(
                    db.session,
                    program,
                    current_registry(),
                    type=request.form.get("type", ""),
                    secret=request.form.get("secret", ""),
                    api_key=request.form.get("api_key") or None,
                    clock=current_clock(),
                )
                audit(
                    db.session,
                    current_user,
                    "storefront.connect",
                    program=program,
                    target=f"storefront:{store.type}",
                    after={"secret": store.masked_secret, "api_key": store.masked_api_key},
                    clock=current_clock(),
                )
                message = f"{store.type} connected (secret {store.masked_secret})."
            elif action == "create_key":
                scopes = request.form.getlist("scopes") or ["read", "write"]
                made = create_key(
                    db.session, program, name=request.form.get("name", ""), scopes=scopes, clock=current_clock()
                )
                audit(
                    db.session,
                    current_user,
                    "api_key.create",
                    program=program,
                    target=f"api_key:{made.key.prefix}",
                    after={"name": made.key.name, "scopes": made.key.scopes},
                    clock=current_clock(),
                )
                new_key, message = (
                    made.secret,
                    f"API key {made.key.prefix} created: copy it now, it is not shown again.",
                )
            elif action == "revoke_key":
                key = revoke_key(db.session, program, request.form.get("prefix", ""), clock=current_clock())
                audit(
                    db.session,
                    current_user,
                    "api_key.revoke",
                    program=program,
                    target=f"api_key:{key.prefix}",
                    clock=current_clock(),
                )
                message = f"API key {key.prefix} revoked."
            else:
                raise errors.InvalidInput("nothing to do")
            db.session.commit()
            flash(message, "ok")
            if new_key is None:
                return redirect(url_for("admin.connections", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not saved: {exc.message}", "error")
    return render_template(
        "admin/connections.html",
        program=program,
        new_key=new_key,
        stores=list_storefronts(db.session, program),
        keys=list_keys(db.session, program),
        adapters=sorted(
            (name, getattr(adapter, "title", "") or name) for name, adapter in current_registry().storefronts.items()
        ),
    )
