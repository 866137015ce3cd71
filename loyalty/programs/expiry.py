"""When points expire: a program's policy.

Lot-based policies date each lot when it is earned (``expires_at``), and
the ``expire`` job expires lots past their date: ``after_days`` (N days
after the day of earning, at midnight UTC), ``end_of_month`` (the end of the month N months after the
earning's month; 0: the same month), ``end_of_year`` (the end of the year
N years after the earning's year; 0: the same year). ``inactivity``
leaves lots undated and expires all of a member's available points once
they have neither earned nor spent for N days.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.models import Account, Entry, Lot

POLICIES = ("none", "after_days", "end_of_month", "end_of_year", "inactivity")
LIMITS = {"after_days": (1, 3650), "inactivity": (1, 3650), "end_of_month": (0, 120), "end_of_year": (0, 10)}


def check(policy: str, after: int | None) -> tuple[str, int | None]:
    """A valid (policy, after) pair, or InvalidInput saying what is wrong."""
    if policy not in POLICIES:
        raise errors.InvalidInput(f"invalid expiry policy {policy!r}: choose one of {', '.join(POLICIES)}")
    if policy == "none":
        return policy, None
    low, high = LIMITS[policy]
    if isinstance(after, bool) or not isinstance(after, int) or not low <= after <= high:
        raise errors.InvalidInput(f"expiry policy {policy} needs --expiry-after between {low} and {high}")
    return policy, after


def lot_expiry(program, earned_at: datetime) -> datetime | None:
    """When points earned at ``earned_at`` expire under the program's lot-based policy (None: never)."""
    policy, after = program.expiry_policy, program.expiry_after
    if policy == "after_days":
        # From the start of the next day: the same event sent again later that day gets the same date.
        day = datetime(earned_at.year, earned_at.month, earned_at.day, tzinfo=timezone.utc)
        return day + timedelta(days=after + 1)
    if policy == "end_of_month":
        months = earned_at.year * 12 + earned_at.month - 1 + after + 1  # the first day of the month after
        return datetime(months // 12, months % 12 + 1, 1, tzinfo=timezone.utc)
    if policy == "end_of_year":
        return datetime(earned_at.year + after + 1, 1, 1, tzinfo=timezone.utc)
    return None


def next_expiry(session: Session, program, member) -> dict | None:
    """The member's next points to expire, ``{"points", "at"}``, or ``None`` (nothing dated, or nothing left).

    Lot-based policies: the available lots with the soonest date. Inactivity:
    everything available, the policy's days after the member last earned or
    spent (or enrolled), which is what the ``expire`` job will go by.
    """
    lots, accounts, entries = Lot.__table__, Account.__table__, Entry.__table__
    available = (
        select(lots.c.remaining, lots.c.expires_at)
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(accounts.c.member_id == member.id, accounts.c.kind == "available", lots.c.remaining > 0)
    ).subquery()
    if program.expiry_policy == "inactivity":
        points = int(session.scalar(select(func.coalesce(func.sum(available.c.remaining), 0))))
        if points <= 0:
            return None
        last = session.scalar(
            select(func.max(entries.c.created_at)).where(
                entries.c.member_id == member.id, entries.c.kind.in_(("earn", "redeem"))
            )
        )
        since = max(moment for moment in (last, member.enrolled_at) if moment is not None)
        return {"points": points, "at": since + timedelta(days=program.expiry_after)}
    soonest = session.scalar(select(func.min(available.c.expires_at)))
    if soonest is None:
        return None
    points = session.scalar(
        select(func.coalesce(func.sum(available.c.remaining), 0)).where(available.c.expires_at == soonest)
    )
    return {"points": int(points), "at": soonest}
