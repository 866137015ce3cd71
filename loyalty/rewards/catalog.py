"""The reward catalog: rewards, their price, their availability, imported code pools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.clock import Clock
from loyalty.db import is_id
from loyalty.ledger import MAX_AMOUNT
from loyalty.models import Member, Program, Redemption, Reward, RewardCode, Tier
from loyalty.tiers.levels import get_tier
from loyalty.validation import invalid
from loyalty.wording import points_text

#: Redemptions that count against stock and the per-member limit.
HELD = ("issued", "used")


def reward_type(registry, name: str):
    kind = registry.reward_types.get(name)
    if kind is None:
        known = ", ".join(sorted(registry.reward_types)) or "none"
        raise errors.InvalidInput(f"no reward type {name!r}; installed: {known}")
    return kind


def validate_config(kind, config) -> dict:
    schema = kind.schema()
    try:
        return schema.dump(schema.load(config or {}))
    except ValidationError as exc:
        raise invalid(f"config for reward type {kind.name}", exc) from None


#: Points, stock and limits are 32-bit integer columns.
MAX_COUNT = 2**31 - 1


def _whole(value, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_COUNT:
        raise errors.InvalidInput(f"{name} must be a whole number from {minimum} to {MAX_COUNT}, not {value!r}")
    return value


def add_reward(
    session: Session,
    program: Program,
    registry,
    *,
    type: str,
    name: str,
    points: int,
    config: dict | None = None,
    description: str | None = None,
    step_value=None,
    min_points: int | None = None,
    max_points: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    min_tier: str | None = None,
    stock: int | None = None,
    limit_per_member: int | None = None,
    clock: Clock,
) -> Reward:
    """Add a reward to the catalog; anything invalid raises and adds nothing.

    Fixed price: ``points`` per reward. Variable: ``points`` per step of
    ``step_value`` money (``100`` points per ``1.00`` off), the member
    choosing an amount of points between ``min_points`` and ``max_points``
    (multiples of ``points``).
    """
    kind = reward_type(registry, type)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise errors.InvalidInput("a reward needs a name of 1 to 200 characters")
    if session.scalar(select(Reward.id).where(Reward.program_id == program.id, Reward.name == name)):
        raise errors.DuplicateReward(f"program {program.slug} already has a reward named {name!r}")
    now = clock.now()
    reward = Reward(
        program_id=program.id,
        type=kind.name,
        name=name,
        description=(description or None),
        config=validate_config(kind, config),
        active=True,
        issued_count=0,
        created_at=now,
        updated_at=now,
    )
    _price(reward, kind, program, points, step_value, min_points, max_points)
    kind.check_pricing(reward.config, reward.pricing)
    _availability(session, program, reward, starts_at, ends_at, min_tier, stock, limit_per_member)
    session.add(reward)
    session.flush()
    return reward


def _price(reward, kind, program, points, step_value, min_points, max_points) -> None:
    reward.points = _whole(points, "points", minimum=1)
    if reward.points is None:
        raise errors.InvalidInput("a reward needs its cost in points")
    if step_value is None:
        if min_points is not None or max_points is not None:
            raise errors.InvalidInput("min and max points are for variable rewards (give a step value)")
        reward.pricing = "fixed"
        return
    if not kind.variable:
        raise errors.InvalidInput(f"reward type {kind.name} has a fixed price; it cannot be priced in steps")
    try:
        value = money.to_decimal(Decimal(str(step_value)), program.currency, field="step value")
    except (InvalidOperation, ValueError):
        raise errors.InvalidInput(f"the step value must be an amount of money, not {step_value!r}") from None
    if not 0 < value < MAX_AMOUNT:
        raise errors.InvalidInput(f"the step value must be positive and below {MAX_AMOUNT}")
    low = _whole(min_points, "min points", minimum=1) or reward.points
    high = _whole(max_points, "max points", minimum=1)
    if high is None:
        raise errors.InvalidInput("a variable reward needs max points")
    if low % reward.points or high % reward.points or low > high:
        raise errors.InvalidInput(
            f"min and max points must be multiples of {reward.points} with min <= max (got {low} and {high})"
        )
    reward.pricing, reward.step_value, reward.min_points, reward.max_points = "variable", value, low, high


def _availability(session, program, reward, starts_at, ends_at, min_tier, stock, limit_per_member) -> None:
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise errors.InvalidInput("a reward must start before it ends")
    reward.starts_at, reward.ends_at = starts_at, ends_at
    reward.min_tier_id = get_tier(session, program, min_tier).id if min_tier else None
    reward.stock = _whole(stock, "stock", minimum=0)
    reward.limit_per_member = _whole(limit_per_member, "limit per member", minimum=1)


def update_reward(session: Session, program: Program, reward: Reward, *, clock: Clock, **changes) -> Reward:
    """Pause or resume (``active``), or change ``stock``, ``limit_per_member``, ``starts_at``, ``ends_at``, ``min_tier``.

    A stock below what was already issued is refused.
    """
    allowed = {"active", "stock", "limit_per_member", "starts_at", "ends_at", "min_tier", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise errors.InvalidInput(f"cannot change {', '.join(sorted(unknown))} of a reward")
    if "active" in changes:
        reward.active = bool(changes.pop("active"))
    if "description" in changes:
        reward.description = changes.pop("description") or None
    current = {
        "starts_at": reward.starts_at,
        "ends_at": reward.ends_at,
        "min_tier": session.get(Tier, reward.min_tier_id).name if reward.min_tier_id else None,
        "stock": reward.stock,
        "limit_per_member": reward.limit_per_member,
    }
    current.update(changes)
    if current["stock"] is not None and isinstance(current["stock"], int) and current["stock"] < reward.issued_count:
        raise errors.InvalidInput(f"{reward.issued_count} were already issued; the stock cannot be {current['stock']}")
    _availability(
        session,
        program,
        reward,
        current["starts_at"],
        current["ends_at"],
        current["min_tier"],
        current["stock"],
        current["limit_per_member"],
    )
    reward.updated_at = clock.now()
    session.flush()
    return reward


def get_reward(session: Session, program: Program, reward_id) -> Reward:
    reward = session.get(Reward, reward_id) if is_id(reward_id) else None
    if reward is None or reward.program_id != program.id:
        raise errors.UnknownReward(f"no reward {reward_id!r} in program {program.slug}")
    return reward


def list_rewards(session: Session, program: Program, *, active_only: bool = False) -> list[Reward]:
    query = select(Reward).where(Reward.program_id == program.id)
    if active_only:
        query = query.where(Reward.active.is_(True))
    return list(session.scalars(query.order_by(Reward.points, Reward.id)))


@dataclass(frozen=True)
class Price:
    points: int
    value: Decimal | None


def price(reward: Reward, points: int | None, currency: str) -> Price:
    """What a redemption costs and is worth: the fixed price, or the steps asked for."""
    if reward.pricing == "fixed":
        if points is not None and points != reward.points:
            raise errors.InvalidInput(f"reward {reward.name!r} costs {points_text(reward.points)}; do not give points")
        return Price(reward.points, None)
    if points is None:
        raise errors.InvalidInput(
            f"reward {reward.name!r} is priced in steps of {points_text(reward.points)}: give the points to spend"
        )
    if (
        isinstance(points, bool)
        or not isinstance(points, int)
        or points % reward.points
        or not reward.min_points <= points <= reward.max_points
    ):
        raise errors.InvalidInput(
            f"points for {reward.name!r} must be a multiple of {reward.points} from {reward.min_points} "
            f"to {reward.max_points}, not {points!r}"
        )
    value = reward.step_value * (points // reward.points)
    return Price(points, value.quantize(Decimal(1).scaleb(-money.exponent(currency))))


@dataclass(frozen=True)
class Unavailable:
    """Why a reward cannot be had now: a stable ``code`` (for the widget's words) and a message for people."""

    code: str  # paused, not_started, ended, out_of_stock, tier, limit_reached
    message: str


def reasons_unavailable(session: Session, reward: Reward, member: Member | None, now: datetime) -> list[Unavailable]:
    """Every reason ``member`` (or anyone, without one) cannot have the reward now, in the order they are told.

    Points are not looked at: whether the member can afford it is the
    ledger's to say, at the moment of redeeming.
    """
    reasons = []
    if not reward.active:
        reasons.append(Unavailable("paused", f"reward {reward.name!r} is paused"))
    if reward.starts_at is not None and now < reward.starts_at:
        reasons.append(
            Unavailable(
                "not_started", f"reward {reward.name!r} is available from {reward.starts_at:%Y-%m-%d %H:%M} UTC"
            )
        )
    if reward.ends_at is not None and now >= reward.ends_at:
        reasons.append(Unavailable("ended", f"reward {reward.name!r} ended on {reward.ends_at:%Y-%m-%d %H:%M} UTC"))
    if reward.stock is not None and reward.issued_count >= reward.stock:
        reasons.append(Unavailable("out_of_stock", f"reward {reward.name!r} is out of stock"))
    if member is None:
        return reasons
    if reward.min_tier_id is not None:
        needed = session.get(Tier, reward.min_tier_id)
        tier = session.get(Tier, member.tier_id) if member.tier_id else None
        if tier is None or tier.rank < needed.rank:
            reasons.append(Unavailable("tier", f"reward {reward.name!r} is for {needed.name} members and above"))
    if reward.limit_per_member is not None:
        taken = session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.reward_id == reward.id, Redemption.member_id == member.id, Redemption.status.in_(HELD))
        )
        if taken >= reward.limit_per_member:
            reasons.append(
                Unavailable(
                    "limit_reached", f"the limit of {reward.limit_per_member} of {reward.name!r} per member is reached"
                )
            )
    return reasons


def availability(session: Session, reward: Reward, member: Member | None, now: datetime) -> Unavailable | None:
    """The first reason ``member`` (or anyone) cannot have the reward now, or ``None``."""
    reasons = reasons_unavailable(session, reward, member, now)
    return reasons[0] if reasons else None


def unavailable(session: Session, reward: Reward, member: Member | None, now: datetime) -> str | None:
    """Why ``member`` (or anyone) cannot have the reward now, as a sentence; ``None`` if they can."""
    reason = availability(session, reward, member, now)
    return reason.message if reason else None


def import_codes(session: Session, program: Program, reward: Reward, codes, *, clock: Clock) -> int:
    """Add codes made elsewhere (the store's admin) to a reward's pool; returns how many were new.

    Codes are kept upper-case (stores match them without case); a code
    already in the program's pools, or issued, is skipped.
    """
    cleaned = []
    for raw in codes:
        code = (raw or "").strip().upper()
        if not code:
            continue
        if len(code) > 64 or not all(ch.isalnum() or ch in "-_" for ch in code):
            raise errors.InvalidInput(f"invalid code {raw!r}: use up to 64 letters, digits, - and _")
        cleaned.append(code)
    cleaned = list(dict.fromkeys(cleaned))
    if not cleaned:
        raise errors.InvalidInput("no codes to import")
    known = set(
        session.scalars(
            select(RewardCode.code).where(RewardCode.program_id == program.id, RewardCode.code.in_(cleaned))
        )
    )
    known |= set(
        session.scalars(
            select(Redemption.code).where(Redemption.program_id == program.id, Redemption.code.in_(cleaned))
        )
    )
    fresh = [code for code in cleaned if code not in known]
    now = clock.now()
    if fresh:
        session.execute(
            insert(RewardCode),
            [{"program_id": program.id, "reward_id": reward.id, "code": code, "imported_at": now} for code in fresh],
        )
    return len(fresh)


def pool_left(session: Session, reward: Reward) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RewardCode)
        .where(RewardCode.reward_id == reward.id, RewardCode.redemption_id.is_(None))
    )
