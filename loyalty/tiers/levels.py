"""Tiers: levels of a program, the scheme that moves members between them, and their history.

A program's tier scheme (a plugin, :mod:`loyalty.tiers.schemes`) gives every
member's qualifying value in one query. :func:`recalculate` then decides,
for the members whose tier should change, the same way for every scheme:

* up, as soon as the value reaches a higher tier's ``threshold`` (also
  right after an event: :func:`upgrade_on_event`);
* kept while the value stays at or above the tier's ``keep_threshold``
  (its threshold if none), or while a manual floor holds the member there;
* down, only by the program's policy: ``never``, ``at_recalculation``, or
  ``after_grace`` (``grace_days`` after the value first fell short), and
  with ``one_step_down`` at most one tier per recalculation;
* never below a manual floor (:func:`set_member_tier`) until it ends.

Each change is recorded in ``tier_changes`` with its reason and fires the
``tier_changed`` hook. Values are read with one query and streamed; the
changes are written with batched executemany statements, not through the
ORM one member at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock, current_clock
from loyalty.models import Member, Program, Tier, TierChange
from loyalty.tiers.schemes import load_settings, scheme_of, window_of

BATCH = 1000
#: A rank is a 32-bit integer column.
RANK_LIMIT = 2**31


# --- defining tiers ----------------------------------------------------------


def _decimal(value, name: str, *, allow_none: bool = False) -> Decimal | None:
    if value is None and allow_none:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise errors.InvalidInput(f"{name} {value!r} is not a number") from None
    if not number.is_finite() or number < 0 or number >= Decimal(10) ** 15:
        raise errors.InvalidInput(f"{name} must be zero or more (and below 10^15)")
    return number


def add_tier(
    session: Session, program: Program, *, name: str, rank: int, earn_multiplier="1", threshold="0",
    keep_threshold=None, perks: str | None = None, clock: Clock | None = None,
) -> Tier:
    if not name or not name.strip() or len(name.strip()) > 100:
        raise errors.InvalidInput("a tier needs a name of 1 to 100 characters")
    if not -RANK_LIMIT < rank < RANK_LIMIT:
        raise errors.InvalidInput(f"the rank must be a whole number between -{RANK_LIMIT - 1} and {RANK_LIMIT - 1}")
    multiplier, entry, keep = _tier_values(earn_multiplier, threshold, keep_threshold)
    taken = session.scalar(
        select(Tier.id).where(Tier.program_id == program.id, (Tier.name == name.strip()) | (Tier.rank == rank))
    )
    if taken is not None:
        raise errors.Conflict(f"program {program.slug} already has a tier named {name!r} or ranked {rank}")
    tier = Tier(
        program_id=program.id, name=name.strip(), rank=rank, earn_multiplier=multiplier, threshold=entry,
        keep_threshold=keep, perks=(perks or "").strip() or None, created_at=(clock or current_clock()).now(),
    )
    session.add(tier)
    session.flush()
    return tier


def _tier_values(earn_multiplier, threshold, keep_threshold) -> tuple[Decimal, Decimal, Decimal | None]:
    try:
        multiplier = Decimal(str(earn_multiplier))
    except InvalidOperation:
        raise errors.InvalidInput(f"earn multiplier {earn_multiplier!r} is not a number") from None
    if not multiplier.is_finite() or multiplier <= 0 or multiplier > 100:
        raise errors.InvalidInput("the earn multiplier must be above 0 and at most 100")
    entry = _decimal(threshold, "threshold")
    keep = _decimal(keep_threshold, "keep threshold", allow_none=True)
    if keep is not None and keep > entry:
        raise errors.InvalidInput("the keep threshold must not be above the threshold that reaches the tier")
    return multiplier, entry, keep


def update_tier(session: Session, program: Program, tier: Tier, *, name: str, earn_multiplier, threshold,
                keep_threshold=None, perks: str | None = None) -> Tier:
    """Change a tier's name, thresholds, multiplier or perks (its rank stays); members move at the next recalculation."""
    if not name or not name.strip() or len(name.strip()) > 100:
        raise errors.InvalidInput("a tier needs a name of 1 to 100 characters")
    multiplier, entry, keep = _tier_values(earn_multiplier, threshold, keep_threshold)
    if session.scalar(select(Tier.id).where(Tier.program_id == program.id, Tier.name == name.strip(),
                                            Tier.id != tier.id)) is not None:
        raise errors.Conflict(f"program {program.slug} already has a tier named {name!r}")
    tier.name, tier.earn_multiplier, tier.threshold, tier.keep_threshold = name.strip(), multiplier, entry, keep
    tier.perks = (perks or "").strip() or None
    session.flush()
    return tier


def list_tiers(session: Session, program: Program) -> list[Tier]:
    return list(session.scalars(select(Tier).where(Tier.program_id == program.id).order_by(Tier.rank)))


def get_tier(session: Session, program: Program, name: str) -> Tier:
    tier = session.scalar(select(Tier).where(Tier.program_id == program.id, Tier.name == name))
    if tier is None:
        raise errors.UnknownTier(f"no tier {name!r} in program {program.slug}")
    return tier


def set_scheme(session: Session, program: Program, registry, name: str | None, settings=None) -> None:
    """Choose the program's tier scheme and its settings (validated), or none (tiers by hand)."""
    if name is None:
        program.tier_scheme, program.tier_settings = None, None
    else:
        scheme = scheme_of(registry, name)
        program.tier_scheme, program.tier_settings = scheme.name, load_settings(scheme, settings)
    session.flush()


def set_member_tier(
    session: Session, member: Member, tier: Tier | None, *, until: datetime | None = None,
    registry=None, clock: Clock | None = None,
) -> None:
    """Give a member a tier by hand. It is also a floor: no recalculation goes below it until ``until``.

    Without a tier, the member's floor is removed and their tier cleared
    (the next recalculation gives them what their value earns).
    """
    now = (clock or current_clock()).now()
    if until is not None and until <= now:
        raise errors.InvalidInput("the end of a manual tier must be in the future")
    old = member.tier_id
    member.tier_id = tier.id if tier else None
    member.tier_floor_id, member.tier_floor_until = (tier.id, until) if tier else (None, None)
    member.tier_at_risk_since = None
    session.flush()
    if old != member.tier_id:
        _record(session, member.program_id, [(member.id, old, member.tier_id, "manual", None)], now, registry)


# --- moving members ----------------------------------------------------------


@dataclass(frozen=True)
class Recalculation:
    members: int
    upgraded: int
    downgraded: int
    floors_ended: int


def recalculate(
    session: Session, program: Program, *, registry=None, clock: Clock | None = None,
    member_ids: list[int] | None = None, upgrades_only: bool = False,
) -> Recalculation:
    """Move the program's members (or ``member_ids``) to the tier their value gives them now.

    ``upgrades_only``: what an event does, between nightly runs (a
    downgrade waits for the recalculation the program's policy names).
    """
    from loyalty.registry import current_registry

    registry = registry or current_registry()
    now = (clock or current_clock()).now()
    if program.tier_scheme is None:
        raise errors.InvalidInput(f"program {program.slug} has no tier scheme (loyalty tiers scheme)")
    tiers = list_tiers(session, program)
    if not tiers:
        return Recalculation(0, 0, 0, 0)
    settings = program.tier_settings or {}
    values = scheme_of(registry, program.tier_scheme).qualifying_values(
        program, settings, now, member_ids=member_ids).subquery()
    query = (
        select(Member.id, Member.tier_id, Member.tier_floor_id, Member.tier_floor_until, Member.tier_at_risk_since,
               values.c.value)
        .join(values, values.c.member_id == Member.id)
        .where(Member.program_id == program.id, Member.status == "active")
        .order_by(Member.id)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    decide = _Decider(tiers, settings, now, upgrades_only)
    updates, changes, seen, floors_ended = [], [], 0, 0
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        seen += 1
        outcome = decide(row)
        if outcome is not None:
            updates.append(outcome.update)
            floors_ended += outcome.floor_ended
            if outcome.change is not None:
                changes.append(outcome.change)
    conn = session.connection()
    for start in range(0, len(updates), BATCH):
        conn.execute(MEMBER_TIER_UPDATE, updates[start:start + BATCH])
    _record(session, program.id, changes, now, registry)
    _refresh_loaded_members(session, {u["m_id"] for u in updates})
    rank = {tier.id: tier.rank for tier in tiers}
    return Recalculation(
        members=seen,
        upgraded=sum(1 for _, old, new, _, _ in changes if rank.get(new, -1) > rank.get(old, -1)),
        downgraded=sum(1 for _, old, new, _, _ in changes if rank.get(new, -1) < rank.get(old, -1)),
        floors_ended=floors_ended,
    )


def upgrade_on_event(session: Session, program: Program, member_ids, *, registry=None, clock=None) -> None:
    """After an event posted points or an order: move these members up at once if they now qualify."""
    if program.tier_scheme is not None:
        recalculate(session, program, registry=registry, clock=clock, member_ids=list(member_ids), upgrades_only=True)


members_table = Member.__table__

#: One member's tier state; run as an executemany over a batch of changed members.
MEMBER_TIER_UPDATE = (
    update(members_table)
    .where(members_table.c.id == bindparam("m_id"))
    .values(tier_id=bindparam("m_tier"), tier_floor_id=bindparam("m_floor"),
            tier_floor_until=bindparam("m_until"), tier_at_risk_since=bindparam("m_risk"))
)


@dataclass(frozen=True)
class _Outcome:
    update: dict
    change: tuple | None  # (member_id, old tier, new tier, reason, value)
    floor_ended: bool


class _Decider:
    """The tier rules of the module docstring, for one member's row at a time (no database access)."""

    def __init__(self, tiers: list[Tier], settings: dict, now: datetime, upgrades_only: bool):
        self.tiers = tiers  # lowest rank first
        self.by_id = {tier.id: tier for tier in tiers}
        self.now = now
        self.upgrades_only = upgrades_only
        self.policy = settings.get("downgrade", "at_recalculation")
        self.grace = timedelta(days=settings.get("grace_days", 30))
        self.one_step = settings.get("one_step_down", False)

    def earned(self, value: Decimal) -> Tier | None:
        reached = [tier for tier in self.tiers if value >= tier.threshold]
        return reached[-1] if reached else None

    def __call__(self, row) -> _Outcome | None:
        value = Decimal(row.value or 0)
        current = self.by_id.get(row.tier_id)
        floor = self.by_id.get(row.tier_floor_id)
        floor_until, at_risk = row.tier_floor_until, row.tier_at_risk_since
        floor_ended = floor is not None and floor_until is not None and floor_until <= self.now
        if floor_ended:
            floor, floor_until = None, None
        target = _higher(self.earned(value), floor)
        reason = None
        if _rank(target) > _rank(current):
            new, at_risk, reason = target, None, "upgrade"
        elif current is None or _keeps(current, value) or _rank(floor) >= _rank(current):
            new, at_risk = current, None
        elif self.upgrades_only or self.policy == "never":
            new, at_risk = current, at_risk or self.now
        elif self.policy == "after_grace" and (at_risk is None or self.now - at_risk < self.grace):
            new, at_risk = current, at_risk or self.now
        else:
            new, at_risk, reason = self._down_from(current, target), None, "downgrade"
        changed_tier = (new.id if new else None) != row.tier_id
        if not changed_tier and not floor_ended and at_risk == row.tier_at_risk_since:
            return None
        return _Outcome(
            {"m_id": row.id, "m_tier": new.id if new else None, "m_floor": floor.id if floor else None,
             "m_until": floor_until, "m_risk": at_risk},
            (row.id, row.tier_id, new.id if new else None, reason or "downgrade", value) if changed_tier else None,
            floor_ended,
        )

    def _down_from(self, current: Tier, target: Tier | None) -> Tier | None:
        if not self.one_step:
            return target
        below = [tier for tier in self.tiers if tier.rank < current.rank]
        one_down = below[-1] if below else None
        return _higher(target, one_down)


def _refresh_loaded_members(session: Session, member_ids: set[int]) -> None:
    """Members already loaded in the session show their new tier state (nothing else is touched)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Member) and obj.id in member_ids:
            session.expire(obj, ["tier_id", "tier_floor_id", "tier_floor_until", "tier_at_risk_since"])


def _rank(tier: Tier | None) -> int:
    return tier.rank if tier is not None else -(10**9)


def _higher(a: Tier | None, b: Tier | None) -> Tier | None:
    return a if _rank(a) >= _rank(b) else b


def _keeps(tier: Tier, value: Decimal) -> bool:
    return value >= (tier.keep_threshold if tier.keep_threshold is not None else tier.threshold)


def _record(session: Session, program_id: int, changes: list[tuple], now: datetime, registry) -> None:
    """Write the tier history and tell the plugins (``tier_changed``) about each change."""
    if not changes:
        return
    from loyalty.registry import current_registry

    registry = registry or current_registry()
    session.connection().execute(TierChange.__table__.insert(), [
        {"program_id": program_id, "member_id": member_id, "from_tier_id": old, "to_tier_id": new,
         "reason": reason, "qualifying_value": value, "created_at": now}
        for member_id, old, new, reason, value in changes
    ])
    if not registry.pm.hook.tier_changed.get_hookimpls():
        return  # nobody listens: no need to load the members
    program = session.get(Program, program_id)
    ids = [member_id for member_id, *_ in changes]
    for start in range(0, len(ids), BATCH):  # into the identity map, a batch per query
        session.scalars(select(Member).where(Member.id.in_(ids[start:start + BATCH]))).all()
    for member_id, old, new, reason, _ in changes:
        registry.tier_changed(
            program=program, member=session.get(Member, member_id),
            old_tier=session.get(Tier, old) if old else None, new_tier=session.get(Tier, new) if new else None,
            reason=reason,
        )


# --- reading -----------------------------------------------------------------


def progress(session: Session, program: Program, member: Member, *, registry=None, clock=None) -> dict | None:
    """Where the member stands: the metric, their value, the next tier and what is left, what keeps theirs.

    ``None`` when the program has no tier scheme.
    """
    from loyalty.registry import current_registry

    if program.tier_scheme is None:
        return None
    registry = registry or current_registry()
    now = (clock or current_clock()).now()
    scheme = scheme_of(registry, program.tier_scheme)
    settings = program.tier_settings or {}
    values = scheme.qualifying_values(program, settings, now, member_ids=[member.id]).subquery()
    value = Decimal(session.scalar(select(values.c.value).where(values.c.member_id == member.id)) or 0)
    tiers = list_tiers(session, program)
    current = next((tier for tier in tiers if tier.id == member.tier_id), None)
    above = [tier for tier in tiers if tier.rank > (current.rank if current else -(10**9))]
    following = next((tier for tier in above if tier.threshold > value), above[0] if above else None)
    keep = None
    if current is not None and settings.get("downgrade", "at_recalculation") != "never":
        needed = current.keep_threshold if current.keep_threshold is not None else current.threshold
        floor_holds = member.tier_floor_id == current.id and (
            member.tier_floor_until is None or member.tier_floor_until > now)
        keep = {"threshold": plain(needed), "by": window_of(settings, now).resets_at,
                "held_by_manual_tier_until": member.tier_floor_until if floor_holds else None}
    return {
        "scheme": scheme.name, "metric": scheme.metric, "value": plain(value),
        "next_tier": None if following is None else {
            "name": following.name, "threshold": plain(following.threshold),
            "remaining": plain(max(following.threshold - value, Decimal(0))),
        },
        "keep": keep,
    }


def plain(number: Decimal | None) -> Decimal | None:
    """``500.0000`` as ``500`` and ``12.5000`` as ``12.5`` (never ``5E+2``): thresholds as people write them."""
    if number is None:
        return None
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def history(session: Session, member: Member, *, limit: int = 50) -> list[TierChange]:
    return list(session.scalars(
        select(TierChange).where(TierChange.member_id == member.id).order_by(TierChange.id.desc()).limit(limit)
    ))
