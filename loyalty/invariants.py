"""``loyalty verify``: check the platform's invariants (docs/design.md) with set-based SQL.

The ledger's, and those of what sits on it: referrals, rewards and their
stock, the daily roll-ups. So it sits above them all, beside the jobs.

Each check is a query that returns the rows breaking one invariant; an
empty result means it holds. The same function backs the CLI command and
the test suite's after-every-scenario check, so what the tests prove is
what an operator can re-check on a live database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from loyalty.models import (
    Account,
    DailyFigure,
    Entry,
    Lot,
    LotConsumption,
    MemberActivity,
    Program,
    Redemption,
    Referral,
    Reward,
    Transfer,
)
from loyalty.reporting.periods import ONE_DAY, midnight
from loyalty.reporting.rollups import ACTIVE_KINDS, range_totals

accounts = Account.__table__
entries = Entry.__table__
transfers = Transfer.__table__
lots = Lot.__table__
consumptions = LotConsumption.__table__
programs = Program.__table__
referrals = Referral.__table__
redemptions = Redemption.__table__
rewards = Reward.__table__

#: How many offending rows to report per invariant.
DETAIL_LIMIT = 20


@dataclass(frozen=True)
class Violation:
    program: str
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.program}] {self.invariant}: {self.detail}"


def _derived_balances():
    """Each account's balance as the sum of its transfers (in minus out)."""
    moves = union_all(
        select(transfers.c.to_account_id.label("account_id"), transfers.c.amount.label("delta")),
        select(transfers.c.from_account_id.label("account_id"), (-transfers.c.amount).label("delta")),
    ).subquery()
    return select(moves.c.account_id, func.sum(moves.c.delta).label("derived")).group_by(moves.c.account_id).subquery()


def _zero_sum(session: Session, program_id: int) -> list[str]:
    """1. In each program the balances of all accounts sum to zero."""
    derived = _derived_balances()
    balance = case(
        (accounts.c.member_id.is_(None), func.coalesce(derived.c.derived, 0)),
        else_=accounts.c.balance,
    )
    query = (
        select(func.coalesce(func.sum(balance), 0).label("total"))
        .select_from(accounts.outerjoin(derived, derived.c.account_id == accounts.c.id))
        .where(accounts.c.program_id == program_id)
    )
    return [f"the balances sum to {row.total}, not 0" for row in session.execute(query).all() if row.total != 0]


def _cached_balances(session: Session, program_id: int) -> list[str]:
    """2a. Every cached balance equals the sum of its account's transfers."""
    derived = _derived_balances()
    query = (
        select(
            accounts.c.id,
            accounts.c.member_id,
            accounts.c.kind,
            accounts.c.balance,
            func.coalesce(derived.c.derived, 0).label("derived"),
        )
        .select_from(accounts.outerjoin(derived, derived.c.account_id == accounts.c.id))
        .where(
            accounts.c.program_id == program_id,
            accounts.c.member_id.is_not(None),
            accounts.c.balance != func.coalesce(derived.c.derived, 0),
        )
        .limit(DETAIL_LIMIT)
    )
    return [
        f"member {r.member_id} {r.kind} account {r.id}: cached {r.balance}, transfers sum to {r.derived}"
        for r in session.execute(query).all()
    ]


def _lots_cover_balances(session: Session, program_id: int) -> list[str]:
    """2b. Each member account's open lots sum to its balance (or to zero while it is negative)."""
    open_sum = (
        select(lots.c.account_id, func.sum(lots.c.remaining).label("open")).group_by(lots.c.account_id).subquery()
    )
    expected = case((accounts.c.balance > 0, accounts.c.balance), else_=literal(0))
    query = (
        select(
            accounts.c.id,
            accounts.c.member_id,
            accounts.c.kind,
            accounts.c.balance,
            func.coalesce(open_sum.c.open, 0).label("open"),
        )
        .select_from(accounts.outerjoin(open_sum, open_sum.c.account_id == accounts.c.id))
        .where(
            accounts.c.program_id == program_id,
            accounts.c.member_id.is_not(None),
            func.coalesce(open_sum.c.open, 0) != expected,
        )
        .limit(DETAIL_LIMIT)
    )
    return [
        f"member {r.member_id} {r.kind} account {r.id}: balance {r.balance}, open lots hold {r.open}"
        for r in session.execute(query).all()
    ]


def _lot_remainders(session: Session, program_id: int) -> list[str]:
    """2c. A lot's remainder is its amount less what transfers consumed of it."""
    used = (
        select(consumptions.c.lot_id, func.sum(consumptions.c.amount).label("used"))
        .group_by(consumptions.c.lot_id)
        .subquery()
    )
    query = (
        select(lots.c.id, lots.c.amount, lots.c.remaining, func.coalesce(used.c.used, 0).label("used"))
        .select_from(lots.outerjoin(used, used.c.lot_id == lots.c.id))
        .where(
            lots.c.program_id == program_id,
            lots.c.amount - func.coalesce(used.c.used, 0) != lots.c.remaining,
        )
        .limit(DETAIL_LIMIT)
    )
    return [
        f"lot {r.id}: amount {r.amount} less consumed {r.used} is not its remainder {r.remaining}"
        for r in session.execute(query).all()
    ]


def _no_overdraft(session: Session, program_id: int) -> list[str]:
    """3. No pending balance below zero; no available balance below zero under ``cap_at_zero``."""
    query = (
        select(accounts.c.id, accounts.c.member_id, accounts.c.kind, accounts.c.balance)
        .join(programs, programs.c.id == accounts.c.program_id)
        .where(
            accounts.c.program_id == program_id,
            accounts.c.balance < 0,
            or_(
                accounts.c.kind == "pending",
                and_(accounts.c.kind == "available", programs.c.clawback_policy == "cap_at_zero"),
            ),
        )
        .limit(DETAIL_LIMIT)
    )
    return [f"member {r.member_id} {r.kind} balance is {r.balance}" for r in session.execute(query).all()]


def _entries_balance(session: Session, program_id: int) -> list[str]:
    """An entry's amount is what its transfers moved plus its recorded shortfall."""
    moved = (
        select(transfers.c.entry_id, func.sum(transfers.c.amount).label("moved"))
        .group_by(transfers.c.entry_id)
        .subquery()
    )
    query = (
        select(entries.c.id, entries.c.amount, entries.c.shortfall, func.coalesce(moved.c.moved, 0).label("moved"))
        .select_from(entries.outerjoin(moved, moved.c.entry_id == entries.c.id))
        .where(
            entries.c.program_id == program_id,
            entries.c.amount != func.coalesce(moved.c.moved, 0) + entries.c.shortfall,
        )
        .limit(DETAIL_LIMIT)
    )
    return [
        f"entry {r.id}: amount {r.amount}, but transfers moved {r.moved} with shortfall {r.shortfall}"
        for r in session.execute(query).all()
    ]


def _reversals_capped(session: Session, program_id: int) -> list[str]:
    """A reversal never takes back more than the entry it reverses."""
    reversed_sum = (
        select(entries.c.reverses_id, func.sum(entries.c.amount).label("reversed"))
        .where(entries.c.reverses_id.is_not(None))
        .group_by(entries.c.reverses_id)
        .subquery()
    )
    query = (
        select(entries.c.id, entries.c.amount, reversed_sum.c.reversed)
        .join(reversed_sum, reversed_sum.c.reverses_id == entries.c.id)
        .where(entries.c.program_id == program_id, reversed_sum.c.reversed > entries.c.amount)
        .limit(DETAIL_LIMIT)
    )
    return [f"entry {r.id} of {r.amount} points is reversed by {r.reversed}" for r in session.execute(query).all()]


def _keys_unique(session: Session, program_id: int) -> list[str]:
    """4. The same idempotency key posts once."""
    query = (
        select(entries.c.idempotency_key, func.count().label("n"))
        .where(entries.c.program_id == program_id)
        .group_by(entries.c.idempotency_key)
        .having(func.count() > 1)
        .limit(DETAIL_LIMIT)
    )
    return [f"key {r.idempotency_key!r} posted {r.n} entries" for r in session.execute(query).all()]


def _positive_transfers(session: Session, program_id: int) -> list[str]:
    """Every transfer moves a positive amount between two different accounts."""
    query = (
        select(transfers.c.id, transfers.c.amount)
        .where(
            transfers.c.program_id == program_id,
            or_(transfers.c.amount <= 0, transfers.c.from_account_id == transfers.c.to_account_id),
        )
        .limit(DETAIL_LIMIT)
    )
    return [f"transfer {r.id} moves {r.amount} points" for r in session.execute(query).all()]


def _same_program(session: Session, program_id: int) -> list[str]:
    """A transfer and a lot belong to an entry of their own program."""
    query = (
        select(transfers.c.id, entries.c.program_id)
        .join(entries, entries.c.id == transfers.c.entry_id)
        .where(transfers.c.program_id == program_id, entries.c.program_id != program_id)
        .limit(DETAIL_LIMIT)
    )
    found = [f"transfer {r.id} belongs to an entry of program {r.program_id}" for r in session.execute(query)]
    query = (
        select(lots.c.id, entries.c.program_id)
        .join(entries, entries.c.id == lots.c.entry_id)
        .where(lots.c.program_id == program_id, entries.c.program_id != program_id)
        .limit(DETAIL_LIMIT)
    )
    return found + [f"lot {r.id} belongs to an entry of program {r.program_id}" for r in session.execute(query)]


def _referral_rewards(session: Session, program_id: int) -> list[str]:
    """A referral pays only once rewarded, each side once, the points it shows, to the right member."""
    posted = (
        select(
            entries.c.source_id,
            entries.c.member_id,
            func.count().label("n"),
            func.sum(entries.c.amount).label("points"),
        )
        .where(entries.c.program_id == program_id, entries.c.source_type == "referral", entries.c.kind == "earn")
        .group_by(entries.c.source_id, entries.c.member_id)
        .subquery()
    )
    side = case(
        (posted.c.member_id == referrals.c.referrer_id, referrals.c.referrer_points),
        (posted.c.member_id == referrals.c.friend_member_id, referrals.c.friend_points),
        else_=None,
    )
    query = (
        select(
            posted.c.source_id, posted.c.member_id, posted.c.n, posted.c.points, referrals.c.status, side.label("shown")
        )
        .select_from(
            posted.outerjoin(referrals, func.cast(referrals.c.id, entries.c.source_id.type) == posted.c.source_id)
        )
        .where(
            or_(
                posted.c.n > 1, referrals.c.status.is_distinct_from("rewarded"), side.is_(None), side != posted.c.points
            )
        )
        .limit(DETAIL_LIMIT)
    )
    return [
        f"referral {r.source_id} ({r.status}) posted {r.points} points in {r.n} entries to member {r.member_id}"
        f" (shows {r.shown})"
        for r in session.execute(query).all()
    ]


def _redemptions(session: Session, program_id: int) -> list[str]:
    """Points spent on rewards match redemptions: each spends what it shows, once; stock counts what is out."""
    spent = entries.alias("spent")
    returned = entries.alias("returned")
    wrong = (
        select(
            redemptions.c.id,
            redemptions.c.status,
            redemptions.c.points,
            spent.c.amount.label("spent"),
            returned.c.amount.label("returned"),
        )
        .select_from(
            redemptions.outerjoin(spent, spent.c.id == redemptions.c.entry_id).outerjoin(
                returned, returned.c.id == redemptions.c.reversal_entry_id
            )
        )
        .where(
            redemptions.c.program_id == program_id,
            or_(
                and_(
                    redemptions.c.status == "failed",
                    or_(redemptions.c.points != 0, redemptions.c.entry_id.is_not(None)),
                ),
                and_(
                    redemptions.c.points > 0,
                    or_(
                        spent.c.kind.is_distinct_from("redeem"),
                        spent.c.amount.is_distinct_from(redemptions.c.points),
                        spent.c.member_id.is_distinct_from(redemptions.c.member_id),
                    ),
                ),
                and_(
                    redemptions.c.status == "cancelled",
                    redemptions.c.points > 0,
                    returned.c.amount.is_distinct_from(redemptions.c.points),
                ),
            ),
        )
        .limit(DETAIL_LIMIT)
    )
    found = [
        f"redemption {r.id} ({r.status}, {r.points} points) has spent {r.spent} and returned {r.returned}"
        for r in session.execute(wrong)
    ]
    orphans = (
        select(entries.c.id)
        .where(
            entries.c.program_id == program_id,
            entries.c.kind == "redeem",
            entries.c.source_type == "reward",
            ~select(redemptions.c.id).where(redemptions.c.entry_id == entries.c.id).exists(),
        )
        .limit(DETAIL_LIMIT)
    )
    found += [f"entry {r.id} spent points on a reward without a redemption" for r in session.execute(orphans)]
    out = (
        select(redemptions.c.reward_id, func.count().label("n"))
        .where(redemptions.c.status.in_(("issued", "used")))
        .group_by(redemptions.c.reward_id)
        .subquery()
    )
    stock = (
        select(rewards.c.id, rewards.c.issued_count, func.coalesce(out.c.n, 0).label("n"))
        .select_from(rewards.outerjoin(out, out.c.reward_id == rewards.c.id))
        .where(rewards.c.program_id == program_id, rewards.c.issued_count != func.coalesce(out.c.n, 0))
        .limit(DETAIL_LIMIT)
    )
    return found + [
        f"reward {r.id} counts {r.issued_count} issued, but {r.n} redemptions are out" for r in session.execute(stock)
    ]


def _rollups(session: Session, program_id: int) -> list[str]:
    """Every rolled-up day says what the ledger says of that day, and each member's last active day is right."""
    mark = session.scalar(select(programs.c.rolled_up_until).where(programs.c.id == program_id))
    stored: dict = {}
    for day, figure, value in session.execute(
        select(DailyFigure.day, DailyFigure.figure, DailyFigure.value).where(DailyFigure.program_id == program_id)
    ):
        stored.setdefault(day, {})[figure] = value
    active = dict(
        session.execute(
            select(MemberActivity.member_id, MemberActivity.last_active_on).where(
                MemberActivity.program_id == program_id
            )
        ).all()
    )
    if mark is None:
        return ["rolled-up rows exist but the program has no roll-up mark"] if stored or active else []
    found = [f"day {day} is rolled up but not before the mark {mark}" for day in sorted(stored) if day >= mark]
    oldest = session.scalar(select(func.min(entries.c.created_at)).where(entries.c.program_id == program_id))
    day = min(([oldest.date()] if oldest else []) + list(stored) + [mark])
    while day < mark and len(found) < DETAIL_LIMIT:
        expected = range_totals(session, program_id, midnight(day), midnight(day + ONE_DAY))
        if stored.get(day, {}) != expected:
            found.append(f"day {day} rolled up as {stored.get(day, {})}, the ledger says {expected}")
        day += ONE_DAY
    last_active = {
        member_id: when.date()
        for member_id, when in session.execute(
            select(entries.c.member_id, func.max(entries.c.created_at))
            .where(
                entries.c.program_id == program_id,
                entries.c.kind.in_(ACTIVE_KINDS),
                entries.c.member_id.is_not(None),
                entries.c.created_at < midnight(mark),
            )
            .group_by(entries.c.member_id)
        )
    }
    wrong = sorted(m for m in set(active) | set(last_active) if active.get(m) != last_active.get(m))
    found += [
        f"member {m} last active on {active.get(m)} in the roll-up, {last_active.get(m)} in the ledger"
        for m in wrong[:DETAIL_LIMIT]
    ]
    return found


CHECKS = {
    "zero_sum": _zero_sum,
    "cached_balance": _cached_balances,
    "lots_cover_balance": _lots_cover_balances,
    "lot_remainder": _lot_remainders,
    "no_overdraft": _no_overdraft,
    "entry_amount": _entries_balance,
    "reversal_capped": _reversals_capped,
    "idempotency_key_unique": _keys_unique,
    "positive_transfer": _positive_transfers,
    "same_program": _same_program,
    "referral_rewards": _referral_rewards,
    "redemptions": _redemptions,
    "rollups": _rollups,
}


def verify(session: Session, program_slug: str | None = None) -> list[Violation]:
    """Every violation of every invariant, for one program or for all of them."""
    query = select(programs.c.id, programs.c.slug).order_by(programs.c.id)
    if program_slug is not None:
        query = query.where(programs.c.slug == program_slug)
    found = []
    for program_id, slug in session.execute(query).all():
        for name, check in CHECKS.items():
            found.extend(Violation(slug, name, detail) for detail in check(session, program_id))
    return found
