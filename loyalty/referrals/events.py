"""What a referral tells the outbox: ``referral.completed`` when it pays off, ``referral.flagged`` when held.

Both are about the referrer (the event's member), who is the one to tell
("your friend's order earned you 500 points"); the friend hears of their
own points through ``points.earned``. Recorded in the transaction that
rewards or flags the referral, once: a rewarded or flagged referral is not
rewarded or flagged again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.messages import outbox
from loyalty.models import Member, Order, Referral


def data(session: Session, referral: Referral, *, referrer_points: int, friend_points: int) -> dict:
    """The referral as a receiver needs it: who referred whom, the qualifying order, the points to each."""
    referrer = session.scalar(select(Member.external_id).where(Member.id == referral.referrer_id))
    order = (
        session.scalar(select(Order.external_id).where(Order.id == referral.order_id)) if referral.order_id else None
    )
    return {
        "referral_id": referral.id,
        "referrer": {"external_id": referrer},
        "friend": {"external_id": referral.friend_external_id},
        "order_id": order,
        "referrer_points": referrer_points,
        "friend_points": friend_points,
        "reason": referral.reason,
    }


def completed(session: Session, referral: Referral, *, at: datetime) -> None:
    """The referral's rewards were posted (``reason`` says what was left out: a cap, an inactive member)."""
    outbox.record(
        session,
        referral.program_id,
        "referral.completed",
        at=at,
        member_id=referral.referrer_id,
        data=data(session, referral, referrer_points=referral.referrer_points, friend_points=referral.friend_points),
    )


def flagged(session: Session, referral: Referral, *, referrer_points: int, friend_points: int, at: datetime) -> None:
    """A fraud check held the referral for a person; the points are what the terms would give each side."""
    outbox.record(
        session,
        referral.program_id,
        "referral.flagged",
        at=at,
        member_id=referral.referrer_id,
        data=data(session, referral, referrer_points=referrer_points, friend_points=friend_points),
    )
