"""Tiers and the tier scheme: add a tier, choose the scheme and its settings (a form from the scheme's schema)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.forms import not_saved
from loyalty.admin.schema_forms import fields_of, values_from
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import Tier
from loyalty.registry import current_registry
from loyalty.tiers.levels import add_tier, list_tiers, set_scheme, update_tier
from loyalty.tiers.progress import plain

TIER_FIELDS = ("name", "rank", "threshold", "keep_threshold", "earn_multiplier", "perks")


def unit_of(scheme, program) -> str:
    """What a threshold counts under ``scheme``: "points", "orders", or the program's currency for an amount."""
    metric = getattr(scheme, "metric", "points") if scheme else None
    if metric is None:
        return ""
    return program.currency if metric == "amount" else metric


def unit_change(program, schemes, chosen: str, tiers) -> dict | None:
    """What switching to ``chosen`` does to the tiers' thresholds, when it changes what they count.

    The thresholds are numbers; their unit is the scheme's. Going from
    "points earned" to "amount spent" turns a threshold of 500 points into
    500 USD without any number changing, so the admin says so and asks for
    a confirmation before it switches (``None``: nothing to warn about).
    """
    old, new = unit_of(schemes.get(program.tier_scheme or ""), program), unit_of(schemes.get(chosen), program)
    counted = [tier for tier in tiers if tier.threshold or tier.keep_threshold]
    if not old or not new or old == new or not counted:
        return None
    return {"old": old, "new": new, "tiers": [(tier.name, plain(tier.threshold)) for tier in counted]}


@bp.route("/<program_slug>/tiers", methods=["GET", "POST"])
@admin_view(change=True)
def tiers(program):
    schemes = current_registry().tier_schemes
    chosen = request.values.get("scheme", program.tier_scheme or "")
    scheme = schemes.get(chosen)
    specs = fields_of(scheme.schema) if scheme else []
    tier_form = {key: request.form.get(key, "") for key in TIER_FIELDS}
    settings = (
        values_from(request.form, specs, "settings.", program=program)
        if request.form.get("action") == "scheme"
        else dict(program.tier_settings or {})
        if scheme and chosen == program.tier_scheme
        else {}
    )
    problems = {}
    if request.method == "POST":
        try:
            if request.form.get("action") == "tier":
                tier = add_tier(
                    db.session,
                    program,
                    name=tier_form["name"],
                    rank=tier_form["rank"],
                    threshold=tier_form["threshold"] or "0",
                    keep_threshold=tier_form["keep_threshold"] or None,
                    earn_multiplier=tier_form["earn_multiplier"] or "1",
                    perks=tier_form["perks"],
                    clock=current_clock(),
                )
                audit(
                    db.session,
                    current_user,
                    "tier.add",
                    program=program,
                    target=f"tier:{tier.id}",
                    after={
                        "name": tier.name,
                        "rank": tier.rank,
                        "threshold": plain(tier.threshold),
                        "keep_threshold": plain(tier.keep_threshold),
                        "earn_multiplier": tier.earn_multiplier,
                    },
                    clock=current_clock(),
                )
                message = f"Tier {tier.name} added."
            else:
                change = unit_change(program, schemes, chosen, list_tiers(db.session, program))
                if change and not request.form.get("confirm_unit"):
                    raise errors.InvalidInput(
                        f"the tiers' thresholds count {change['old']} today and would count {change['new']}: "
                        "tick the box to confirm, then review the thresholds"
                    )
                before = {"scheme": program.tier_scheme, "settings": program.tier_settings}
                set_scheme(db.session, program, current_registry(), chosen or None, settings)
                audit(
                    db.session,
                    current_user,
                    "tier.scheme",
                    program=program,
                    target="tier scheme",
                    before=before,
                    after={"scheme": program.tier_scheme, "settings": program.tier_settings},
                    clock=current_clock(),
                )
                message = f"Tier scheme: {program.tier_scheme or 'none (tiers by hand)'}."
            db.session.commit()
            flash(message, "ok")
            return redirect(url_for("admin.tiers", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(not_saved(exc), "error")
    tiers = list_tiers(db.session, program)
    return render_template(
        "admin/tiers.html",
        program=program,
        tiers=tiers,
        unit=unit_of(schemes.get(program.tier_scheme or ""), program),
        unit_change=unit_change(program, schemes, chosen, tiers),
        plain=plain,
        schemes=sorted(schemes.values(), key=lambda s: s.name),
        chosen=chosen,
        scheme_title=scheme.title if scheme else "",
        scheme_title_current=getattr(schemes.get(program.tier_scheme or ""), "title", ""),
        specs=specs,
        values=settings,
        # each form's messages by its own inputs: the tier's, or the scheme's settings
        errors=problems if request.form.get("action") == "scheme" else {},
        tier_errors=problems if request.form.get("action") == "tier" else {},
        tier_form=tier_form,
    )


@bp.route("/<program_slug>/tiers/<id:tier_id>", methods=["GET", "POST"])
@admin_view(change=True)
def tier_form(program, tier_id):
    tier = db.session.get(Tier, tier_id)
    if tier is None or tier.program_id != program.id:
        abort(404)
    form = {
        "name": tier.name,
        "threshold": plain(tier.threshold),
        "keep_threshold": plain(tier.keep_threshold) if tier.keep_threshold is not None else "",
        "earn_multiplier": tier.earn_multiplier,
        "perks": tier.perks or "",
    }
    problems = {}
    if request.method == "POST":
        form = {key: request.form.get(key, "") for key in form}
        before = _tier_view(tier)
        try:
            update_tier(
                db.session,
                program,
                tier,
                name=form["name"],
                threshold=form["threshold"] or "0",
                keep_threshold=form["keep_threshold"] or None,
                earn_multiplier=form["earn_multiplier"] or "1",
                perks=form["perks"],
            )
            audit(
                db.session,
                current_user,
                "tier.update",
                program=program,
                target=f"tier:{tier.id}",
                before=before,
                after=_tier_view(tier),
                clock=current_clock(),
            )
            db.session.commit()
            flash(f"Tier {tier.name} saved; members move at the next recalculation.", "ok")
            return redirect(url_for("admin.tiers", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(not_saved(exc), "error")
    unit = unit_of(current_registry().tier_schemes.get(program.tier_scheme or ""), program)
    return render_template("admin/tier_form.html", program=program, tier=tier, form=form, unit=unit, errors=problems)


def _tier_view(tier) -> dict:
    return {
        "name": tier.name,
        "threshold": plain(tier.threshold),
        "keep_threshold": plain(tier.keep_threshold),
        "earn_multiplier": tier.earn_multiplier,
        "perks": tier.perks,
    }
