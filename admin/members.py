"""Members: find one (external id, e-mail or referral code), see everything about them, adjust points."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from loyalty import errors
from loyalty.access.admin_users import audit
from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.forms import AdjustForm
from loyalty.admin.inputs import given_id
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.ledger.history import member_history
from loyalty.models import Account, Lot, Member, Order, Redemption, Referral, Reward, Tier
from loyalty.programs.members import find_member, normalize_code
from loyalty.referrals import referred_by
from loyalty.tiers.levels import history

PAGE = 50


@bp.route("/<program_slug>/members")
@admin_view()
def members(program):
    """Exact matches on indexed columns, so it stays fast with a million members; else the newest, a page at a time."""
    q = (request.args.get("q") or "").strip()[:320]
    query = select(Member).where(Member.program_id == program.id)
    if q:
        query = query.where(
            or_(
                Member.external_id == q,
                Member.email == q,
                Member.email == q.lower(),
                Member.referral_code == normalize_code(q),
            )
        )
    before = given_id(request.args, "before")
    if before:
        query = query.where(Member.id < before)
    rows = list(db.session.scalars(query.order_by(Member.id.desc()).limit(PAGE + 1)))
    if q and len(rows) == 1:
        return redirect(url_for("admin.member", program_slug=program.slug, external_id=rows[0].external_id))
    return render_template(
        "admin/members.html",
        program=program,
        members=rows[:PAGE],
        q=q,
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
    )


@bp.route("/<program_slug>/members/<path:external_id>", methods=["GET", "POST"])
@admin_view(change=True)
def member(program, external_id):
    found = find_member(db.session, program, external_id) if "\x00" not in external_id else None
    if found is None:
        abort(404)
    form = AdjustForm()
    if request.method == "POST":
        if form.validate_on_submit():
            ledger = Ledger(db.session, current_clock())
            before = ledger.balances(found.id)
            try:
                posting = ledger.adjust(
                    found,
                    form.points.data,
                    key=f"admin:{form.key.data}",
                    reason=form.reason.data.strip(),
                    actor=f"admin:{current_user.email}",
                )
            except errors.LoyaltyError as exc:
                db.session.rollback()
                flash(f"Not adjusted: {exc.message}", "error")
            else:
                if not posting.replayed:
                    audit(
                        db.session,
                        current_user,
                        "member.adjust",
                        program=program,
                        target=f"member:{external_id}",
                        before={"available": before["available"]},
                        after={
                            "available": ledger.balances(found.id)["available"],
                            "points": form.points.data,
                            "entry": posting.entry_id,
                        },
                        note=form.reason.data.strip(),
                        clock=current_clock(),
                    )
                db.session.commit()
                flash(f"Adjusted by {form.points.data:+} points (entry {posting.entry_id}).", "ok")
                return redirect(url_for("admin.member", program_slug=program.slug, external_id=external_id))
        else:
            db.session.rollback()
            if form.key.errors:  # the hidden key was tampered with: no field shows it, so say it here
                flash("Not adjusted: the form was not the one this page gave; it is new now, adjust again.", "error")
    form.key.data = uuid.uuid4().hex
    return render_template("admin/member.html", program=program, member=found, form=form, **_details(found))


def _details(member: Member) -> dict:
    session = db.session
    accounts = dict(session.execute(select(Account.kind, Account.id).where(Account.member_id == member.id)).all())
    return {
        "balances": Ledger(session).balances(member.id),
        "tier": session.get(Tier, member.tier_id) if member.tier_id else None,
        "lots": list(
            session.scalars(
                select(Lot)
                .where(Lot.account_id.in_(list(accounts.values())), Lot.remaining > 0)
                .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id)
                .limit(100)
            )
        ),
        "account_kinds": {account_id: kind for kind, account_id in accounts.items()},
        "ledger": member_history(session, member.id, limit=100),
        "orders": list(
            session.scalars(select(Order).where(Order.member_id == member.id).order_by(Order.id.desc()).limit(50))
        ),
        "tier_history": history(session, member, limit=50),
        "tier_names": dict(
            session.execute(select(Tier.id, Tier.name).where(Tier.program_id == member.program_id)).all()
        ),
        "referrals": list(
            session.scalars(
                select(Referral).where(Referral.referrer_id == member.id).order_by(Referral.id.desc()).limit(50)
            )
        ),
        "referred_by": referred_by(session, member),
        "redemptions": session.execute(
            select(Redemption, Reward.name)
            .join(Reward, Reward.id == Redemption.reward_id)
            .where(Redemption.member_id == member.id)
            .order_by(Redemption.id.desc())
            .limit(50)
        ).all(),
    }
