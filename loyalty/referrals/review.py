"""The review period and the payout: conversion, cancellation, rewards, decisions by hand.

A converted referral waits out its review period (the program's return
window unless the terms say otherwise), so a friend cannot order, collect
both rewards and return the order: a refund or cancellation inside the
period cancels the referral (:func:`on_order_changed`). After it, the
``referrals`` job rewards it (:func:`reward_due`): both sides' points,
keyed so they post once, the referrer's only under the monthly cap, and a
catalog reward for the friend. A person settles what the checks flagged
(:func:`approve`, :func:`reject`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.clock import Clock
from loyalty.models import Member, Order, Program, Referral
from loyalty.programs.expiry import lot_expiry
from loyalty.referrals import events
from loyalty.referrals.context import ReferralContext
from loyalty.referrals.reading import get_referral, locked
from loyalty.referrals.terms import Terms, review_days, stored_terms
from loyalty.rewards.redeem import give
from loyalty.tiers.recalculate import upgrade_on_event

#: Statuses in which something can still happen to a referral.
OPEN = ("pending", "flagged", "converted")


# --- the review period -----------------------------------------------------


def convert(context: ReferralContext, terms: Terms, referral: Referral, order: Order) -> None:
    """The qualifying order is in: the review period starts at it, and the ``referral_converted`` hook fires.

    A review period of zero days rewards at once.
    """
    session, program, clock = context.session, context.program, context.clock
    paid_at = order.paid_at or clock.now()
    referral.status, referral.order_id = "converted", order.id
    referral.converted_at, referral.review_until = paid_at, paid_at + timedelta(days=review_days(program, terms))
    referral.referrer_points, referral.friend_points = terms.referrer_points, terms.friend_points
    referral.friend_reward_id = terms.friend_reward
    referral.updated_at = clock.now()
    session.flush()
    context.registry.referral_converted(program=program, referral=referral)
    if referral.review_until <= clock.now():
        _reward(context, referral)


def on_order_changed(context: ReferralContext, order: Order, when: datetime) -> Referral | None:
    """A refund or cancellation: cancel the referral it qualified, if still under review.

    Cancelled when the order is cancelled or fully refunded, or refunds
    took it below the minimum. After the review period the referral stands.
    """
    session, program = context.session, context.program
    if not program.referral_terms or order.member_id is None:
        return None
    referral = session.scalar(
        select(Referral)
        .where(Referral.order_id == order.id, Referral.status.in_(("converted", "flagged")))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if referral is None:
        return None
    if referral.status == "converted" and referral.review_until is not None and when > referral.review_until:
        return None
    terms = stored_terms(program)
    left = order.subtotal_minor - order.discount_minor - order.refunded_minor
    if order.status == "cancelled":
        reason = f"order {order.external_id} was cancelled during the review period"
    elif order.status == "refunded":
        reason = f"order {order.external_id} was refunded during the review period"
    elif left < money.to_minor(terms.min_order, order.currency):
        reason = (
            f"refunds during the review period took order {order.external_id} below the minimum of "
            f"{terms.min_order} {order.currency}"
        )
    else:
        return None
    referral.status, referral.reason, referral.updated_at = "cancelled", reason, context.clock.now()
    session.flush()
    return referral


def reward_due(session: Session, program: Program, *, registry, clock: Clock, limit: int = 200) -> list[Referral]:
    """Reward up to ``limit`` converted referrals whose review period has ended (the ``referrals`` job)."""
    context = ReferralContext.of(session, program, registry, clock)
    clock = context.clock
    due = session.execute(
        select(Referral.id, Referral.friend_member_id, Referral.referrer_id)
        .where(Referral.program_id == program.id, Referral.status == "converted", Referral.review_until <= clock.now())
        .order_by(Referral.review_until, Referral.id)
        .limit(limit)
    ).all()
    rewarded = []
    for row in due:
        context.ledger.hold(row.friend_member_id)  # the friend first, as when an order arrives
        referral = locked(session, row.id)
        if referral.status == "converted" and referral.review_until <= clock.now():
            _reward(context, referral)
            rewarded.append(referral)
    return rewarded


# --- decisions by hand --------------------------------------------------------


def approve(session: Session, program: Program, referral_id: int, *, actor: str, registry, clock: Clock) -> Referral:
    """A person clears a flagged referral: it converts (its order is in) or waits for the order.

    Flags do not come back for it; a check that rejects still does.
    """
    context = ReferralContext.of(session, program, registry, clock)
    clock = context.clock
    referral = get_referral(session, program, referral_id)
    if referral.friend_member_id is not None:
        context.ledger.hold(referral.friend_member_id)
    referral = locked(session, referral.id)
    if referral.status != "flagged":
        raise errors.ReferralNotOpen(f"referral {referral.id} is {referral.status}, not flagged")
    referral.decided_by = actor
    referral.reason = f"approved by {actor} (flagged: {referral.reason})"
    order = session.get(Order, referral.order_id) if referral.order_id else None
    if order is None:
        referral.status, referral.updated_at = "pending", clock.now()
    elif order.status in ("cancelled", "refunded"):
        referral.status, referral.updated_at = "cancelled", clock.now()
        referral.reason = f"order {order.external_id} is {order.status}"
    else:
        convert(context, stored_terms(program), referral, order)
    session.flush()
    return referral


def reject(session: Session, program: Program, referral_id: int, *, reason: str, actor: str, clock: Clock) -> Referral:
    """A person refuses a referral that is not rewarded yet (with a reason, kept on the referral)."""
    if not (reason or "").strip():
        raise errors.InvalidInput("rejecting a referral needs a reason")
    referral = locked(session, get_referral(session, program, referral_id).id)
    if referral.status not in OPEN:
        raise errors.ReferralNotOpen(
            f"referral {referral.id} is {referral.status}; only open referrals can be rejected"
        )
    referral.status, referral.reason, referral.decided_by = "rejected", reason.strip(), actor
    referral.updated_at = clock.now()
    session.flush()
    return referral


# --- the payout ----------------------------------------------------------------


def _reward(context: ReferralContext, referral: Referral) -> None:
    """Post both sides' points (the friend's accounts are held by the caller)."""
    session, program, registry, clock, ledger = (
        context.session,
        context.program,
        context.registry,
        context.clock,
        context.ledger,
    )
    now = clock.now()
    ledger.hold(referral.referrer_id)
    notes, credited = [], []
    referrer = session.get(Member, referral.referrer_id)
    friend = session.get(Member, referral.friend_member_id)
    if referral.referrer_points:
        if referrer.status != "active":
            notes.append(f"the referrer is {referrer.status}: no referrer points")
            referral.referrer_points = 0
        elif _over_cap(session, program, referral, now):
            notes.append(
                f"the referrer reached the cap of {stored_terms(program).monthly_cap} rewarded referrals "
                f"this month: no referrer points"
            )
            referral.referrer_points = 0
        else:
            referral.referrer_entry_id = _post(
                context,
                referral,
                referrer,
                "referrer",
                referral.referrer_points,
                f"Referred {referral.friend_external_id}",
                now,
            )
            credited.append(referrer.id)
    if referral.friend_points:
        if friend is None or friend.status != "active":
            notes.append("the friend is not an active member: no friend points")
            referral.friend_points = 0
        else:
            referral.friend_entry_id = _post(
                context,
                referral,
                friend,
                "friend",
                referral.friend_points,
                f"Welcome: referred by {referrer.external_id}",
                now,
            )
            credited.append(friend.id)
    if referral.friend_reward_id is not None:
        if friend is None or friend.status != "active":
            notes.append("the friend is not an active member: no welcome reward")
        else:
            gift = give(
                session,
                program,
                friend,
                referral.friend_reward_id,
                key=f"referral:{referral.id}:friend",
                source=f"referral:{referral.id}",
                actor="referrals",
                registry=registry,
                clock=clock,
            )
            if gift.status == "failed":
                notes.append(f"the friend's welcome reward could not be issued: {gift.reason}")
            else:
                referral.friend_redemption_id = gift.id
    referral.status, referral.rewarded_at, referral.updated_at = "rewarded", now, now
    if notes:
        referral.reason = "; ".join(notes)
    session.flush()
    events.completed(session, referral, at=now)
    if credited:
        upgrade_on_event(session, program, credited, registry=registry, clock=clock)


def _post(
    context: ReferralContext, referral: Referral, member: Member, side: str, points: int, reason: str, now: datetime
) -> int:
    cause = {"type": "referral", "referral_id": referral.id, "side": side}
    posting = context.ledger.earn(
        member,
        points,
        key=f"referral:{referral.id}:{side}",
        expires_at=lot_expiry(context.program, now),
        reason=reason,
        actor="referrals",
        source=("referral", str(referral.id)),
        cause=cause,
    )
    if not posting.replayed:
        context.registry.points_posted(program=context.program, member=member, posting=posting, cause=cause)
    return posting.entry_id


def _over_cap(session: Session, program: Program, referral: Referral, now: datetime) -> bool:
    cap = stored_terms(program).monthly_cap
    if cap is None:
        return False
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded = session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.referrer_id == referral.referrer_id,
            Referral.referrer_entry_id.is_not(None),
            Referral.rewarded_at >= month,
            Referral.id != referral.id,
        )
    )
    return rewarded >= cap
