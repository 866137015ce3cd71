"""The reward catalog (add through a form from the reward type's schema, pause, resume) and flagged referrals."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from loyalty import errors
from loyalty.admin import bp
from loyalty.admin.access import admin_view
from loyalty.admin.schema_forms import fields_of, values_from
from loyalty.admin_users import audit
from loyalty.db import db
from loyalty.models import Member
from loyalty.referrals import approve, list_referrals, reject
from loyalty.registry import current_registry
from loyalty.rewards import add_reward, get_reward, list_rewards, update_reward
from loyalty.rewards.catalog import pool_left, reward_type

PRICE_FIELDS = ("name", "description", "points", "step_value", "min_points", "max_points", "stock", "limit_per_member",
                "min_tier")


@bp.route("/<program_slug>/rewards", methods=["GET", "POST"])
@admin_view(change=True)
def rewards(program):
    registry = current_registry()
    if request.method == "POST":  # pause or resume
        reward = _reward_or_404(program, request.form.get("reward", type=int))
        update_reward(db.session, program, reward, active=request.form.get("action") == "resume")
        audit(db.session, current_user, f"reward.{request.form.get('action')}", program=program,
              target=f"reward:{reward.id}", after={"active": reward.active})
        db.session.commit()
        flash(f"Reward {reward.name!r} {'resumed' if reward.active else 'paused'}.", "ok")
        return redirect(url_for("admin.rewards", program_slug=program.slug))
    rows = [(reward, registry.reward_types.get(reward.type),
             pool_left(db.session, reward) if reward.config.get("use_pool") else None)
            for reward in list_rewards(db.session, program)]
    return render_template("admin/rewards.html", program=program, rows=rows,
                           kinds=sorted(registry.reward_types.values(), key=lambda k: k.name))


@bp.route("/<program_slug>/rewards/new", methods=["GET", "POST"])
@admin_view(change=True)
def reward_form(program):
    try:
        kind = reward_type(current_registry(), request.args.get("type", ""))
    except errors.LoyaltyError:
        abort(404)
    specs = fields_of(kind.schema)
    form = {key: request.form.get(key, "") for key in PRICE_FIELDS}
    values = values_from(request.form, specs) if request.method == "POST" else {}
    problems = {}
    if request.method == "POST":
        try:
            whole = {key: _whole(form[key], key) for key in ("points", "min_points", "max_points", "stock",
                                                               "limit_per_member")}
            reward = add_reward(db.session, program, current_registry(), type=kind.name, name=form["name"],
                                description=form["description"], config=values, step_value=form["step_value"] or None,
                                min_tier=form["min_tier"] or None, **whole)
            audit(db.session, current_user, "reward.add", program=program, target=f"reward:{reward.id}",
                  after={"name": reward.name, "type": reward.type, "points": reward.points, "config": reward.config})
            db.session.commit()
            flash(f"Reward {reward.name!r} added.", "ok")
            return redirect(url_for("admin.rewards", program_slug=program.slug))
        except errors.LoyaltyError as exc:
            db.session.rollback()
            problems = exc.details.get("fields") or {}
            flash(f"Not saved: {exc.message}", "error")
    return render_template("admin/reward_form.html", program=program, kind=kind, specs=specs, values=values,
                           errors=problems, form=form)


@bp.route("/<program_slug>/referrals", methods=["GET", "POST"])
@admin_view(change=True)
def referrals(program):
    """Referrals, the flagged ones first: approve or reject them (with a reason)."""
    if request.method == "POST":
        referral_id = request.form.get("referral", type=int)
        try:
            if request.form.get("action") == "approve":
                done = approve(db.session, program, referral_id, actor=f"admin:{current_user.email}")
            else:
                done = reject(db.session, program, referral_id, reason=request.form.get("reason", ""),
                              actor=f"admin:{current_user.email}")
            audit(db.session, current_user, f"referral.{request.form.get('action')}", program=program,
                  target=f"referral:{done.id}", before={"status": "flagged"}, after={"status": done.status},
                  note=request.form.get("reason") or None)
            db.session.commit()
            flash(f"Referral {done.id}: {done.status}.", "ok")
        except errors.LoyaltyError as exc:
            db.session.rollback()
            flash(f"Not changed: {exc.message}", "error")
        return redirect(url_for("admin.referrals", program_slug=program.slug))
    status = request.args.get("status", "flagged")
    rows = list_referrals(db.session, program, status=status or None, limit=100)
    names = dict(db.session.execute(db.select(Member.id, Member.external_id)
                                    .where(Member.id.in_({r.referrer_id for r in rows}))).all()) if rows else {}
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
    if not value.lstrip("-").isdigit():
        raise errors.InvalidInput(f"{name.replace('_', ' ')} must be a whole number")
    return int(value)
