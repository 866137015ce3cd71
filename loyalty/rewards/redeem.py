"""Redemptions: spend points and issue a reward as one step; cancel; mark a code used.

:func:`redeem` locks the member, checks the reward is available to them,
takes one from the stock with a conditional update (never below zero, even
with many members at once), spends the points through the ledger (never
below zero), and asks the reward type to issue — all inside a savepoint. If
the type raises :class:`~loyalty.rewards.types.RewardNotIssued`, the
savepoint is rolled back (no points spent, no stock taken) and a ``failed``
redemption is recorded with the reason. The same idempotency key returns
the same redemption, whatever its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.db import is_id
from loyalty.ledger import MAX_KEY_LENGTH, Ledger, scoped_key
from loyalty.models import Member, Program, Redemption, Reward, RewardCode, Storefront
from loyalty.rewards import events
from loyalty.rewards.catalog import availability, get_reward, price, reward_type
from loyalty.rewards.types import RedemptionRequest, RewardNotIssued, generated_code
from loyalty.wording import points_text


@dataclass(frozen=True)
class _Context:
    session: Session
    program: Program
    registry: object
    clock: Clock


def redeem(
    session: Session,
    program: Program,
    member: Member,
    reward_id: int,
    *,
    key: str,
    points: int | None = None,
    actor: str | None = None,
    registry,
    clock: Clock,
) -> Redemption:
    """Spend the member's points on a reward; returns the redemption (``issued``, or ``failed`` with a reason).

    Refusals that change nothing raise: unknown reward, unavailable to this
    member, wrong points for a variable reward, not enough points, member
    not active, the key used for another reward.
    """
    return _redeem(
        _context(session, program, registry, clock),
        member,
        reward_id,
        key=key,
        points=points,
        actor=actor,
        gift=False,
        source=None,
    )


def give(
    session: Session,
    program: Program,
    member: Member,
    reward_id: int,
    *,
    key: str,
    source: str,
    actor: str | None = None,
    registry,
    clock: Clock,
) -> Redemption:
    """Issue a reward for no points (a referred friend's welcome reward): stock counts, the rest does not."""
    return _redeem(
        _context(session, program, registry, clock),
        member,
        reward_id,
        key=key,
        points=None,
        actor=actor,
        gift=True,
        source=source,
    )


def _context(session, program, registry, clock) -> _Context:
    return _Context(session, program, registry, clock)


def _redeem(ctx: _Context, member: Member, reward_id, *, key, points, actor, gift: bool, source) -> Redemption:
    session, program = ctx.session, ctx.program
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise errors.InvalidInput(f"a redemption needs an idempotency key of 1 to {MAX_KEY_LENGTH} characters")
    ledger = Ledger(session, ctx.clock)
    ledger.hold(member.id)  # the member's redemptions, limit and balance stay as read until the end
    existing = session.scalar(
        select(Redemption).where(Redemption.member_id == member.id, Redemption.idempotency_key == key)
    )
    if existing is not None:
        if existing.reward_id != reward_id:
            raise errors.IdempotencyConflict(f"the key {key!r} was used for another redemption ({existing.id})")
        return existing
    reward = get_reward(session, program, reward_id)
    kind = reward_type(ctx.registry, reward.type)
    now = ctx.clock.now()
    cost = price(reward, points, program.currency) if not gift else None
    if not gift:
        reason = availability(session, reward, member, now)
        if reason is not None:
            raise errors.RewardUnavailable(reason.message, reason=reason.code)
        if member.status != "active":
            raise errors.MemberNotActive(f"member {member.external_id} is {member.status}")
        balance = ledger.balances(member.id)["available"]
        if balance < cost.points:
            raise errors.InsufficientPoints(
                f"{reward.name!r} costs {points_text(cost.points)}; member {member.external_id} has {balance}"
            )
    redemption = Redemption(
        program_id=program.id,
        member_id=member.id,
        reward_id=reward.id,
        idempotency_key=key,
        status="issued",
        points=cost.points if cost else 0,
        value=cost.value if cost else None,
        currency=program.currency,
        details={},
        source=source,
        actor=actor,
        created_at=now,
    )
    try:
        with session.begin_nested():
            _take_one(session, reward)
            session.add(redemption)
            session.flush()
            if redemption.points:
                posting = ledger.redeem(
                    member,
                    redemption.points,
                    key=f"redemption:{redemption.id}",
                    reason=f"Reward: {reward.name}",
                    actor=actor or "rewards",
                    source=("reward", str(reward.id)),
                    cause={
                        "type": "reward",
                        "reward_id": reward.id,
                        "reward": reward.name,
                        "redemption_id": redemption.id,
                    },
                )
                redemption.entry_id = posting.entry_id
            issued = kind.issue(_request(ctx, redemption, reward, member), reward.config)
            redemption.code = _normal(issued.code)
            redemption.details, redemption.expires_at = dict(issued.details), issued.expires_at
            session.flush()
    except RewardNotIssued as exc:
        redemption = Redemption(
            program_id=program.id,
            member_id=member.id,
            reward_id=reward.id,
            idempotency_key=key,
            status="failed",
            points=0,
            value=redemption.value,
            currency=program.currency,
            details={},
            reason=exc.message,
            source=source,
            actor=actor,
            created_at=now,
        )
        session.add(redemption)
        session.flush()
        return redemption
    events.record(session, "reward.redeemed", redemption, reward, at=now)
    ctx.registry.reward_redeemed(program=program, member=member, redemption=redemption)
    return redemption


def _take_one(session: Session, reward: Reward) -> None:
    """One from the stock, atomically: a reward with stock 5 is issued 5 times however many ask at once."""
    taken = session.execute(
        update(Reward)
        .where(Reward.id == reward.id, or_(Reward.stock.is_(None), Reward.issued_count < Reward.stock))
        .values(issued_count=Reward.issued_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise errors.RewardUnavailable(f"reward {reward.name!r} is out of stock", reason="out_of_stock")
    session.expire(reward, ["issued_count"])


def _normal(code: str | None) -> str | None:
    return code.strip().upper() if code else None


def _request(ctx: _Context, redemption: Redemption, reward: Reward, member: Member) -> RedemptionRequest:
    session, program = ctx.session, ctx.program

    def new_code() -> str:
        if reward.config.get("use_pool"):
            return _from_pool(session, reward, redemption)
        return generated_code(reward.config.get("prefix") or "")

    def credentials(store: str) -> str | None:
        return session.scalar(
            select(Storefront.api_key).where(Storefront.program_id == program.id, Storefront.type == store)
        )

    return RedemptionRequest(
        redemption_id=redemption.id,
        key=scoped_key(f"loyalty-{program.id}-{member.id}-", redemption.idempotency_key),
        program_slug=program.slug,
        currency=program.currency,
        reward_name=reward.name,
        points=redemption.points,
        value=redemption.value,
        member_external_id=member.external_id,
        member_email=member.email,
        now=ctx.clock.now(),
        new_code=new_code,
        credentials=credentials,
        details=dict(redemption.details or {}),
    )


def _from_pool(session: Session, reward: Reward, redemption: Redemption) -> str:
    query = (
        select(RewardCode)
        .where(RewardCode.reward_id == reward.id, RewardCode.redemption_id.is_(None))
        .order_by(RewardCode.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    code = session.scalar(query)
    if code is None:
        raise RewardNotIssued(f"the code pool of reward {reward.name!r} is empty; import more codes")
    code.redemption_id = redemption.id
    return code.code


def cancel(
    session: Session,
    program: Program,
    member: Member,
    redemption_id: int,
    *,
    actor: str | None = None,
    registry,
    clock: Clock,
) -> Redemption:
    """Give an issued, unused redemption back: the type withdraws it, the points return, the stock too."""
    ctx = _context(session, program, registry, clock)
    ledger = Ledger(session, ctx.clock)
    ledger.hold(member.id)
    redemption = (
        session.scalar(
            select(Redemption)
            .where(Redemption.id == redemption_id, Redemption.member_id == member.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if is_id(redemption_id)
        else None
    )
    if redemption is None:
        raise errors.UnknownRedemption(f"member {member.external_id} has no redemption {redemption_id!r}")
    if redemption.status != "issued":
        raise errors.RedemptionNotCancellable(
            f"redemption {redemption.id} is {redemption.status}; only an issued, unused one can be cancelled"
        )
    reward = session.get(Reward, redemption.reward_id)
    reward_type(ctx.registry, reward.type).cancel(_request(ctx, redemption, reward, member), reward.config)
    if redemption.entry_id is not None:
        redemption.reversal_entry_id = ledger.reverse(
            redemption.entry_id,
            key=f"redemption:{redemption.id}:cancel",
            reason=f"Cancelled reward: {reward.name}",
            actor=actor or "rewards",
        ).entry_id
    session.execute(
        update(Reward)
        .where(Reward.id == reward.id)
        .values(issued_count=Reward.issued_count - 1)
        .execution_options(synchronize_session=False)
    )
    session.expire(reward, ["issued_count"])
    redemption.status, redemption.cancelled_at = "cancelled", ctx.clock.now()
    redemption.actor = actor or redemption.actor
    session.flush()
    events.record(session, "reward.cancelled", redemption, reward, at=redemption.cancelled_at)
    return redemption


def mark_used(session: Session, program: Program, order_id: int, codes, when) -> int:
    """An order carried redemption codes: they are used (no longer cancellable). Returns how many."""
    codes = [code.strip().upper() for code in codes if code and code.strip()]
    if not codes:
        return 0
    return session.execute(
        update(Redemption)
        .where(Redemption.program_id == program.id, Redemption.code.in_(codes), Redemption.status == "issued")
        .values(status="used", used_at=when, order_id=order_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def mark_used_many(session: Session, program: Program, orders: list[tuple[int, tuple, datetime]]) -> None:
    """:func:`mark_used` for a batch's orders ``(order id, codes, when)``, in their order: one query when none is a reward's.

    Most orders' discount codes are the store's own (a sale, a
    newsletter code), so the issued redemptions among all the codes are
    looked up at once, and only an order carrying one is marked; a code on
    two orders is used by the first, as one by one.
    """
    wanted = {code.strip().upper() for _, codes, _ in orders for code in codes if code and code.strip()}
    if not wanted:
        return
    issued = set(
        session.scalars(
            select(Redemption.code).where(
                Redemption.program_id == program.id, Redemption.code.in_(wanted), Redemption.status == "issued"
            )
        )
    )
    for order_id, codes, when in orders:
        mine = [code for code in codes if code and code.strip().upper() in issued]
        if mine:
            mark_used(session, program, order_id, mine, when)
            issued -= {code.strip().upper() for code in mine}


def redemptions_of(
    session: Session, member: Member, *, limit: int = 50, before_id: int | None = None, status: str | None = None
) -> list[Redemption]:
    query = select(Redemption).where(Redemption.member_id == member.id)
    if status:
        query = query.where(Redemption.status == status)
    if before_id is not None:
        query = query.where(Redemption.id < before_id)
    return list(session.scalars(query.order_by(Redemption.id.desc()).limit(limit)))


def find_code(session: Session, program: Program, code: str) -> Redemption | None:
    """The redemption a code was issued for (any case), for a store checking a code at checkout."""
    code = (code or "").strip().upper()
    if not code or len(code) > 64:
        return None
    return session.scalar(select(Redemption).where(Redemption.program_id == program.id, Redemption.code == code))
