"""A program's figures for the admin's dashboard, each one aggregate query.

Points issued, redeemed and expired in a period come from the immutable
entries (``ix_entries_program_created`` keeps a period's scan to the
period); what is outstanding now from the members' cached balances; tiers
and referrals from their own tables. Nothing loops over members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.models import Account, Entry, Member, Program, Referral, Tier


@dataclass(frozen=True)
class Figures:
    since: datetime
    until: datetime
    members: int
    new_members: int
    active_members: int
    issued: int
    redeemed: int
    expired: int
    reversed: int
    adjusted: int
    outstanding: int
    pending: int
    tiers: list[tuple[str, int]]
    referrals: int
    referrals_converted: int

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed for each point issued in the period."""
        return self.redeemed / self.issued if self.issued else None

    @property
    def referral_conversion(self) -> float | None:
        return self.referrals_converted / self.referrals if self.referrals else None


def figures(session: Session, program: Program, since: datetime, until: datetime) -> Figures:
    """The period is ``(since, until]``: what happened up to and including ``until``."""
    in_period = (Entry.program_id == program.id, Entry.created_at > since, Entry.created_at <= until)
    by_kind = dict(session.execute(
        select(Entry.kind, func.coalesce(func.sum(Entry.amount), 0)).where(*in_period).group_by(Entry.kind)).all())
    active = session.scalar(select(func.count(func.distinct(Entry.member_id))).where(
        *in_period, Entry.member_id.is_not(None), Entry.kind.in_(("earn", "redeem"))))
    balances = dict(session.execute(
        select(Account.kind, func.coalesce(func.sum(Account.balance), 0))
        .where(Account.program_id == program.id, Account.member_id.is_not(None)).group_by(Account.kind)).all())
    members = session.scalar(select(func.count()).select_from(Member).where(Member.program_id == program.id))
    new_members = session.scalar(select(func.count()).select_from(Member).where(
        Member.program_id == program.id, Member.enrolled_at > since, Member.enrolled_at <= until))
    tiers = session.execute(
        select(func.coalesce(Tier.name, "no tier"), func.count(Member.id))
        .select_from(Member).outerjoin(Tier, Tier.id == Member.tier_id)
        .where(Member.program_id == program.id).group_by(Tier.name, Tier.rank).order_by(Tier.rank)).all()
    referral_period = (Referral.program_id == program.id, Referral.created_at > since, Referral.created_at <= until)
    referrals = session.scalar(select(func.count()).select_from(Referral).where(*referral_period))
    converted = session.scalar(select(func.count()).select_from(Referral).where(
        *referral_period, Referral.status.in_(("converted", "rewarded"))))
    amount = lambda kind: int(by_kind.get(kind, 0))  # noqa: E731  (SUM is NUMERIC on PostgreSQL)
    return Figures(
        since=since, until=until, members=members, new_members=new_members, active_members=active,
        issued=amount("earn"), redeemed=amount("redeem"), expired=amount("expire"), reversed=amount("reverse"),
        adjusted=amount("adjust"), outstanding=int(balances.get("available", 0)), pending=int(balances.get("pending", 0)),
        tiers=[(name, count) for name, count in tiers], referrals=referrals, referrals_converted=converted,
    )


def daily_points(session: Session, program: Program, since: datetime, until: datetime) -> list[tuple[date, int, int]]:
    """``(day, issued, redeemed)`` for each day of the period that had either."""
    day = func.date(Entry.created_at)
    rows = session.execute(
        select(day, Entry.kind, func.sum(Entry.amount))
        .where(Entry.program_id == program.id, Entry.created_at > since, Entry.created_at <= until,
               Entry.kind.in_(("earn", "redeem")))
        .group_by(day, Entry.kind).order_by(day)).all()
    days: dict = {}
    for when, kind, total in rows:
        key = when if isinstance(when, date) else date.fromisoformat(str(when))
        issued, redeemed = days.get(key, (0, 0))
        days[key] = (issued + int(total), redeemed) if kind == "earn" else (issued, redeemed + int(total))
    return [(key, issued, redeemed) for key, (issued, redeemed) in sorted(days.items())]
