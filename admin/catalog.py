"""The reward catalog (add through a form from the reward type's schema, pause, resume) and flagged referrals."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.inputs import given_id, is_whole_number
from loyalty.admin.schema_forms import fields_of, values_from
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import Member, Tier
from loyalty.referrals import approve, list_referrals, reject
from loyalty.registry import current_registry
from loyalty.reporting.periods import midnight
from loyalty.rewards import add_reward, get_reward, import_codes, list_rewards, update_reward
from loyalty.rewards.catalog import pool_left, reward_type

PRICE_FIELDS = (
    "name",
    "description",
    "points",
    "step_value",
    "min_points",
    "max_points",
    "stock",
    "limit_per_member",
    "min_tier",
)


@bp.route("/<program_slug>/rewards", methods=["GET", "POST"])
@admin_view(change=True)
def rewards(program):
    registry = current_registry()
    if request.method == "POST":  # pause or resume
        reward = _reward_or_404(program, given_id(request.form, "reward"))
        update_reward(db.session, program, reward, active=request.form.get("action") == "resume", clock=current_clock())
        audit(
            db.session,
            current_user,
            f"reward.{request.form.get('action')}",
            program=program,
            target=f"reward:{reward.id}",
            after={"active": reward.active},
            clock=current_clock(),
        )
        db.session.commit()
        flash(f"Reward {reward.name!r} {'resumed' if reward.active else 'paused'}.", "ok")
        return redirect(url_for("admin.rewards", program_slug=program.slug))
    rows = [
        (
            reward,
            registry.reward_types.get(reward.type),
            pool_left(db.session, reward) if reward.config.get("use_pool") else None,
        )
        for reward in list_rewards(db.session, program)
    ]
    return render_template(
        "admin/rewards.html",
        program=program,
        rows=rows,
        kinds=sorted(registry.reward_types.values(), key=lambda k: k.name),
    )


@bp.route("/<program_slug>/rewards/new", methods=["GET", "POST"])
@admin_view(change=True)
def reward_form(program):
    try:
        kind = reward_type(current_registry(), request.args.get("type", ""))
    except errors.LoyaltyError:
        abort(404)
    specs = fields_of(kind.schema)
    form = {key: request.form.get(key, "") for key in PRICE_FIELDS}
    values = values_from(request.form, specs, program=program) if request.method == "POST" else {}
    problems = {}
    if request.method == "POST":
        try:
            whole = {
                key: _whole(form[key], key)
                for key in ("points", "min_points", "max_points", "stock", "limit_per_member")
            }
            reward = add_reward(
                db.session,
                program,
                current_registry(),
                type=kind.name,
                name=form["name"],
                description=form["description"],
                config=values,
                step_value=form["step_value"] or None,
                min_tier=form["min_tier"] or None,
                clock=current_clock(),
                **whole,
            )
            audit(
                db.session,
                current_user,
                "reward.add",
                program=program,
                target=f"reward:{reward.id}",
                after={"name": reward.name, "type": reward.type, "points": reward.points, "config": reward.config},
                clock=current_clock(),
            )
            db.session.commit()
            flash(f"Reward {reward.name!r} added.", "ok")
            return redirect(url_for("admin.rewards", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(f"Not saved: {exc.message}", "error")
    return render_template(
        "admin/reward_form.html", program=program, kind=kind, specs=specs, values=values, errors=problems, form=form
    )


@bp.route("/<program_slug>/referrals", methods=["GET", "POST"])
@admin_view(change=True)
def referrals(program):
    """Referrals, the flagged ones first: approve or reject them (with a reason)."""
    if request.method == "POST":
        referral_id = given_id(request.form, "referral")
        try:
            if request.form.get("action") == "approve":
                done = approve(
                    db.session,
                    program,
                    referral_id,
                    actor=f"admin:{current_user.email}",
                    registry=current_registry(),
                    clock=current_clock(),
                )
            else:
                done = reject(
                    db.session,
                    program,
                    referral_id,
                    reason=request.form.get("reason", ""),
                    actor=f"admin:{current_user.email}",
                    clock=current_clock(),
                )
            audit(
                db.session,
                current_user,
                f"referral.{request.form.get('action')}",
                program=program,
                target=f"referral:{done.id}",
                before={"status": "flagged"},
                after={"status": done.status},
                note=request.form.get("reason") or None,
                clock=current_clock(),
            )
            db.session.commit()
            flash(f"Referral {done.id}: {done.status}.", "ok")
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not changed: {exc.message}", "error")
        return redirect(url_for("admin.referrals", program_slug=program.slug))
    status = request.args.get("status", "flagged")
    rows = list_referrals(db.session, program, status=status or None, limit=100)
    names = (
        dict(
            db.session.execute(
                db.select(Member.id, Member.external_id).where(Member.id.in_({r.referrer_id for r in rows}))
            ).all()
        )
        if rows
        else {}
    )
    return render_template("admin/referrals.html", program=program, rows=rows, names=names, status=status)


def _reward_or_404(program, reward_id):
    try:
        return get_reward(db.session, program, reward_id)
    except errors.LoyaltyError:
        abort(404)


def _whole(value: str, name: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not is_whole_number(value):
        raise errors.InvalidInput(f"{name.replace('_', ' ')} must be a whole number")
    return int(value)


@bp.route("/<program_slug>/rewards/<id:reward_id>", methods=["GET", "POST"])
@admin_view(change=True)
def reward_edit(program, reward_id):
    """A reward's availability (stock, limit per member, dates, minimum tier) and its code pool."""
    reward = _reward_or_404(program, reward_id)
    if request.method == "POST":
        try:
            if request.form.get("action") == "codes":
                added = import_codes(
                    db.session, program, reward, request.form.get("codes", "").splitlines(), clock=current_clock()
                )
                audit(
                    db.session,
                    current_user,
                    "reward.import_codes",
                    program=program,
                    target=f"reward:{reward.id}",
                    after={"imported": added},
                    clock=current_clock(),
                )
                message = f"{added} new codes imported."
            else:
                before = _availability(reward)
                update_reward(
                    db.session,
                    program,
                    reward,
                    stock=_whole(request.form.get("stock", ""), "stock"),
                    limit_per_member=_whole(request.form.get("limit_per_member", ""), "limit_per_member"),
                    starts_at=_day(request.form.get("starts")),
                    ends_at=_day(request.form.get("ends")),
                    min_tier=request.form.get("min_tier") or None,
                    description=request.form.get("description", ""),
                    clock=current_clock(),
                )
                audit(
                    db.session,
                    current_user,
                    "reward.update",
                    program=program,
                    target=f"reward:{reward.id}",
                    before=before,
                    after=_availability(reward),
                    clock=current_clock(),
                )
                message = f"Reward {reward.name!r} saved."
            db.session.commit()
            flash(message, "ok")
            return redirect(url_for("admin.reward_edit", program_slug=program.slug, reward_id=reward.id))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not saved: {exc.message}", "error")
    tier = db.session.get(Tier, reward.min_tier_id) if reward.min_tier_id else None
    return render_template(
        "admin/reward_edit.html",
        program=program,
        reward=reward,
        kind=current_registry().reward_types.get(reward.type),
        tier=tier,
        pool=pool_left(db.session, reward) if reward.config.get("use_pool") else None,
    )


def _availability(reward) -> dict:
    return {
        "stock": reward.stock,
        "limit_per_member": reward.limit_per_member,
        "starts_at": reward.starts_at,
        "ends_at": reward.ends_at,
        "min_tier_id": reward.min_tier_id,
        "description": reward.description,
    }


def _day(value: str | None):
    """A date from the form as midnight UTC, or ``None``; anything else is refused."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return midnight(date.fromisoformat(value))
    except ValueError:
        raise errors.InvalidInput(f"{value!r} is not a date (2026-12-31)") from None
