"""Deciding tiers: move members to the level their qualifying value gives them.

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
* never below a manual floor (:func:`loyalty.tiers.levels.set_member_tier`)
  until it ends.

Each change is recorded in ``tier_changes`` with its reason and fires the
``tier_changed`` hook (:func:`loyalty.tiers.levels.record_changes`). Values
are read with one query and streamed; the changes are written a batch of
:data:`WRITE_BATCH` members at a time (an executemany per table), not
through the ORM one member at a time, and on PostgreSQL while the values
stream, so memory stays bounded however many members move. The rules
themselves (:class:`_Decider`) read no database, one member's row at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import Member, Program, Tier
from loyalty.tiers.levels import BATCH, list_tiers, record_changes
from loyalty.tiers.schemes import scheme_of


@dataclass(frozen=True)
class Recalculation:
    members: int
    upgraded: int
    downgraded: int
    floors_ended: int


def recalculate(
    session: Session,
    program: Program,
    *,
    registry,
    clock: Clock,
    member_ids: list[int] | None = None,
    upgrades_only: bool = False,
) -> Recalculation:
    """Move the program's members (or ``member_ids``) to the tier their value gives them now.

    ``upgrades_only``: what an event does, between nightly runs (a
    downgrade waits for the recalculation the program's policy names).
    """
    now = clock.now()
    if program.tier_scheme is None:
        raise errors.InvalidInput(f"program {program.slug} has no tier scheme (loyalty tiers scheme)")
    tiers = list_tiers(session, program)
    if not tiers:
        return Recalculation(0, 0, 0, 0)
    settings = program.tier_settings or {}
    values = (
        scheme_of(registry, program.tier_scheme)
        .qualifying_values(program, settings, now, member_ids=member_ids)
        .subquery()
    )
    query = (
        select(
            Member.id,
            Member.tier_id,
            Member.tier_floor_id,
            Member.tier_floor_until,
            Member.tier_at_risk_since,
            values.c.value,
        )
        .join(values, values.c.member_id == Member.id)
        .where(Member.program_id == program.id, Member.status == "active")
        .order_by(Member.id)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    decide = _Decider(tiers, settings, now, upgrades_only)
    rank = {tier.id: tier.rank for tier in tiers}
    counts = {"members": 0, "upgraded": 0, "downgraded": 0, "floors_ended": 0}
    updates, changes = [], []
    conn = session.connection()
    # PostgreSQL streams the values from a server-side cursor whose snapshot the writes do not
    # change, so a batch is written as soon as it is full: memory stays bounded however many
    # members move. SQLite's cursor would see the writes; there, everything is written after.
    write_early = conn.dialect.name == "postgresql"

    def write():
        for start in range(0, len(updates), WRITE_BATCH):  # changes are among the updates
            conn.execute(MEMBER_TIER_UPDATE, updates[start : start + WRITE_BATCH])
            record_changes(session, program.id, changes[start : start + WRITE_BATCH], now, registry)
        _refresh_loaded_members(session, {update["m_id"] for update in updates})
        updates.clear()
        changes.clear()

    for row in session.execute(query.execution_options(yield_per=BATCH)):
        counts["members"] += 1
        outcome = decide(row)
        if outcome is None:
            continue
        updates.append(outcome.update)
        counts["floors_ended"] += outcome.floor_ended
        if outcome.change is not None:
            changes.append(outcome.change)
            _, old, new, _, _ = outcome.change
            if rank.get(new, -1) > rank.get(old, -1):
                counts["upgraded"] += 1
            elif rank.get(new, -1) < rank.get(old, -1):
                counts["downgraded"] += 1
        if write_early and len(updates) >= WRITE_BATCH:
            write()
    write()
    return Recalculation(**counts)


def upgrade_on_event(session: Session, program: Program, member_ids, *, registry, clock: Clock) -> None:
    """After an event posted points or an order: move these members up at once if they now qualify."""
    if program.tier_scheme is not None:
        recalculate(session, program, registry=registry, clock=clock, member_ids=list(member_ids), upgrades_only=True)


members_table = Member.__table__

#: Changed members written at a time (their tier state, history and events: an executemany each).
WRITE_BATCH = 10_000

#: One member's tier state; run as an executemany over a batch of changed members.
MEMBER_TIER_UPDATE = (
    update(members_table)
    .where(members_table.c.id == bindparam("m_id"))
    .values(
        tier_id=bindparam("m_tier"),
        tier_floor_id=bindparam("m_floor"),
        tier_floor_until=bindparam("m_until"),
        tier_at_risk_since=bindparam("m_risk"),
    )
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
            {
                "m_id": row.id,
                "m_tier": new.id if new else None,
                "m_floor": floor.id if floor else None,
                "m_until": floor_until,
                "m_risk": at_risk,
            },
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
