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

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.models import Account, Entry, Lot

POLICIES = ("none", "after_days", "end_of_month", "end_of_year", "inactivity")
LIMITS = {"after_days": (1, 3650), "inactivity": (1, 3650), "end_of_month": (0, 120), "end_of_year": (0, 10)}


def known_policy(policy) -> str:
    if policy not in POLICIES:
        raise errors.InvalidInput(f"invalid expiry policy {str(policy)[:40]!r}: choose one of {', '.join(POLICIES)}")
    return policy


def check(policy: str, after: int | None) -> tuple[str, int | None]:
    """A valid (policy, after) pair, or InvalidInput saying what is wrong."""
    known_policy(policy)
    if policy == "none":
        return policy, None
    low, high = LIMITS[policy]
    if isinstance(after, bool) or not isinstance(after, int) or not low <= after <= high:
        raise errors.InvalidInput(
            f"expiry policy {policy} needs an expiry period (--expiry-after) between {low} and {high}"
        )
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


lots, accounts, entries = Lot.__table__, Account.__table__, Entry.__table__
#: The member's soonest date on open available lots and what they hold then (no row: nothing dated is left).
#: These statements are built once: the widget's ``/me`` runs them on every page view.
SOONEST_EXPIRY = (
    select(lots.c.expires_at, func.sum(lots.c.remaining))
    .join(accounts, accounts.c.id == lots.c.account_id)
    .where(
        accounts.c.member_id == bindparam("member_id"),
        accounts.c.kind == "available",
        lots.c.remaining > 0,
        lots.c.expires_at.is_not(None),
    )
    .group_by(lots.c.expires_at)
    .order_by(lots.c.expires_at)
    .limit(1)
)
#: Everything the member has open in the available account (what the inactivity policy expires at once).
OPEN_AVAILABLE = (
    select(func.coalesce(func.sum(lots.c.remaining), 0))
    .select_from(lots.join(accounts, accounts.c.id == lots.c.account_id))
    .where(accounts.c.member_id == bindparam("member_id"), accounts.c.kind == "available", lots.c.remaining > 0)
)
#: When the member last earned or spent (what inactivity counts from).
LAST_ACTIVE = select(func.max(entries.c.created_at)).where(
    entries.c.member_id == bindparam("member_id"), entries.c.kind.in_(("earn", "redeem"))
)


def next_expiry(session: Session, program, member) -> dict | None:
    """The member's next points to expire, ``{"points", "at"}``, or ``None`` (nothing dated, or nothing left).

    Lot-based policies: the available lots with the soonest date. Inactivity:
    everything available, the policy's days after the member last earned or
    spent (or enrolled), which is what the ``expire`` job will go by.
    """
    if program.expiry_policy == "inactivity":
        points = int(session.scalar(OPEN_AVAILABLE, {"member_id": member.id}))
        if points <= 0:
            return None
        last = session.scalar(LAST_ACTIVE, {"member_id": member.id})
        since = max(moment for moment in (last, member.enrolled_at) if moment is not None)
        return {"points": points, "at": since + timedelta(days=program.expiry_after)}
    soonest = session.execute(SOONEST_EXPIRY, {"member_id": member.id}).first()
    if soonest is None:
        return None
    return {"points": int(soonest[1]), "at": soonest[0]}
