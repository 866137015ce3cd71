"""A program's figures for the admin's dashboard, from aggregate queries that stay quick at a million members.

Whole days before the program's roll-up mark come from the daily roll-ups,
the rest of the period live from the ledger (:mod:`loyalty.reporting.periods`), so the
figures are the same either way. What cannot be rolled up by day is read
through an index: the member count and tier distribution from
``ix_members_program_tier``, new members from
``ix_members_program_enrolled``. Nothing loops over members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from loyalty.models import Account, DailyFigure, Entry, Member, MemberActivity, Program, Referral, Tier
from loyalty.reporting.periods import TICK, Plan, between, plan, sum_figures, utc_day
from loyalty.reporting.rollups import ACTIVE_KINDS, balance_changes, entry_totals


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
    #: The program's roll-up mark when the figures were read (none: all live).
    rolled_up_until: date | None = None

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed for each point issued in the period."""
        return self.redeemed / self.issued if self.issued else None

    @property
    def referral_conversion(self) -> float | None:
        return self.referrals_converted / self.referrals if self.referrals else None


def figures(session: Session, program: Program, since: datetime, until: datetime) -> Figures:
    """The period is ``(since, until]``: what happened up to and including ``until``.

    Outstanding and pending are the members' balances at ``until``; the
    member count and tiers are as they are now.
    """
    period = plan(program, since + TICK, until + TICK)
    moved = sum_figures(session, program.id, period, "entries:", lambda a, b: entry_totals(session, program.id, a, b))
    balances = balances_at(session, program, period.end)
    tiers = tier_distribution(session, program)
    new_members = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.program_id == program.id, Member.enrolled_at > since, Member.enrolled_at <= until)
    )
    referral_period = (Referral.program_id == program.id, Referral.created_at > since, Referral.created_at <= until)
    referrals = session.scalar(select(func.count()).select_from(Referral).where(*referral_period))
    converted = session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(*referral_period, Referral.status.in_(("converted", "rewarded")))
    )
    return Figures(
        since=since,
        until=until,
        members=sum(count for _, count in tiers),
        new_members=new_members,
        active_members=active_members(session, program, period),
        issued=moved.get("entries:earn", 0),
        redeemed=moved.get("entries:redeem", 0),
        expired=moved.get("entries:expire", 0),
        reversed=moved.get("entries:reverse", 0),
        adjusted=moved.get("entries:adjust", 0),
        outstanding=balances.get("balance:available", 0),
        pending=balances.get("balance:pending", 0),
        tiers=tiers,
        referrals=referrals,
        referrals_converted=converted,
        rolled_up_until=program.rolled_up_until,
    )


def balances_at(session: Session, program: Program, end: datetime) -> dict[str, int]:
    """Members' balances by account kind (``balance:<kind>``) just before ``end``.

    With roll-ups: every rolled-up day's changes, then the live ones.
    Without: if nothing was posted since, the members' cached balances
    (which the ledger keeps equal to their transfers); else every transfer
    before ``end``.
    """
    if program.rolled_up_until is not None:
        return sum_figures(
            session,
            program.id,
            plan(program, None, end),
            "balance:",
            lambda a, b: balance_changes(session, program.id, a, b),
        )
    posted_since = select(Entry.id).where(Entry.program_id == program.id, Entry.created_at >= end).exists()
    if session.scalar(select(posted_since)):
        return balance_changes(session, program.id, None, end)
    return {
        f"balance:{kind}": int(total)
        for kind, total in session.execute(
            select(Account.kind, func.sum(Account.balance))
            .where(Account.program_id == program.id, Account.member_id.is_not(None))
            .group_by(Account.kind)
        )
    }


def active_members(session: Session, program: Program, period: Plan) -> int:
    """Members who earned or spent points in the period, each once.

    With roll-ups reaching the mark: those whose last rolled-up active day
    is in the period, plus those active in the live ranges who are not
    among them.
    """
    active = (Entry.program_id == program.id, Entry.kind.in_(ACTIVE_KINDS), Entry.member_id.is_not(None))
    distinct = select(func.count(func.distinct(Entry.member_id)))
    if not period.to_mark:
        return session.scalar(distinct.where(*active, *between(Entry.created_at, period.start, period.end)))
    rolled = session.scalar(
        select(func.count())
        .select_from(MemberActivity)
        .where(MemberActivity.program_id == program.id, MemberActivity.last_active_on >= period.first_day)
    )
    live = [and_(*between(Entry.created_at, start, end)) for start, end in period.live]
    if not live:
        return rolled
    counted = (
        select(MemberActivity.member_id)
        .where(MemberActivity.member_id == Entry.member_id, MemberActivity.last_active_on >= period.first_day)
        .exists()
    )
    return rolled + session.scalar(distinct.where(*active, or_(*live), ~counted))


def tier_distribution(session: Session, program: Program) -> list[tuple[str, int]]:
    """Members per tier now, in rank order (every tier, empty ones too), then those in no tier."""
    counts = dict(
        session.execute(
            select(Member.tier_id, func.count()).where(Member.program_id == program.id).group_by(Member.tier_id)
        ).all()
    )
    tiers = session.execute(select(Tier.id, Tier.name).where(Tier.program_id == program.id).order_by(Tier.rank)).all()
    rows = [(name, counts.get(tier_id, 0)) for tier_id, name in tiers]
    return rows + ([("no tier", counts[None])] if counts.get(None) else [])


def daily_points(session: Session, program: Program, since: datetime, until: datetime) -> list[tuple[date, int, int]]:
    """``(day, issued, redeemed)`` for each UTC day of the period that had either."""
    period = plan(program, since + TICK, until + TICK)
    days: dict[date, tuple[int, int]] = {}

    def add(day, kind, total):
        issued, redeemed = days.get(day, (0, 0))
        days[day] = (issued + int(total), redeemed) if kind == "earn" else (issued, redeemed + int(total))

    if period.rolled:
        for day, figure, value in session.execute(
            select(DailyFigure.day, DailyFigure.figure, DailyFigure.value).where(
                DailyFigure.program_id == program.id,
                *between(DailyFigure.day, period.first_day, period.cut_day),
                DailyFigure.figure.in_(("entries:earn", "entries:redeem")),
            )
        ):
            add(day, figure.removeprefix("entries:"), value)
    day = utc_day(session, Entry.created_at)
    for start, end in period.live:
        for when, kind, total in session.execute(
            select(day, Entry.kind, func.sum(Entry.amount))
            .where(
                Entry.program_id == program.id,
                *between(Entry.created_at, start, end),
                Entry.kind.in_(("earn", "redeem")),
            )
            .group_by(day, Entry.kind)
        ):
            add(when if isinstance(when, date) else date.fromisoformat(str(when)), kind, total)
    return [(day, issued, redeemed) for day, (issued, redeemed) in sorted(days.items())]
