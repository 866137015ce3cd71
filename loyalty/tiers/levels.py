"""A program's tier levels, a member's tier given by hand, and the tier history.

The levels are rows of ``tiers``: a name, a rank (higher is better), the
earn multiplier the earning rules apply, an entry ``threshold`` and an
optional lower ``keep_threshold``. Who reaches which level is decided
elsewhere (:mod:`loyalty.tiers.recalculate`, by the program's scheme);
what is here writes no member's tier except the manual one, which also
sets a floor that recalculations respect.

Every change of a member's tier, by hand or recalculated, is written
through :func:`record_changes`, the one place that keeps ``tier_changes``
and fires the ``tier_changed`` hook.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.messages import outbox
from loyalty.models import Member, Program, Tier, TierChange
from loyalty.tiers.schemes import load_settings, scheme_of
from loyalty.validation import Problems

#: Members loaded or written per statement.
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


def _name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise errors.InvalidInput("a tier needs a name of 1 to 100 characters")
    return name.strip()


def _rank(rank) -> int:
    """A whole number, given as one or as its digits (a form's text)."""
    if isinstance(rank, str) and rank.strip().removeprefix("-").isascii() and rank.strip().removeprefix("-").isdigit():
        rank = int(rank.strip())
    if isinstance(rank, bool) or not isinstance(rank, int) or not -RANK_LIMIT < rank < RANK_LIMIT:
        raise errors.InvalidInput(f"the rank must be a whole number between -{RANK_LIMIT - 1} and {RANK_LIMIT - 1}")
    return rank


def _multiplier(earn_multiplier) -> Decimal:
    try:
        multiplier = Decimal(str(earn_multiplier))
    except InvalidOperation:
        raise errors.InvalidInput(f"earn multiplier {earn_multiplier!r} is not a number") from None
    if not multiplier.is_finite() or multiplier <= 0 or multiplier > 100:
        raise errors.InvalidInput("the earn multiplier must be above 0 and at most 100")
    return multiplier


def _perks(perks) -> str | None:
    if perks is not None and (not isinstance(perks, str) or len(perks.strip()) > 1000):
        raise errors.InvalidInput("perks are a text of at most 1,000 characters")
    return (perks or "").strip() or None


def _checked(problems: Problems, name, earn_multiplier, threshold, keep_threshold, perks):
    """Every field of a tier checked, each problem kept by its field (the form shows them all at once)."""
    values = (
        problems.check("name", _name, name),
        problems.check("earn_multiplier", _multiplier, earn_multiplier),
        problems.check("threshold", _decimal, threshold, "threshold"),
        problems.check("keep_threshold", _decimal, keep_threshold, "keep threshold", allow_none=True),
        problems.check("perks", _perks, perks),
    )
    entry, keep = values[2], values[3]
    if entry is not None and keep is not None and keep > entry:
        problems.add("keep_threshold", "the keep threshold must not be above the threshold that reaches the tier")
    return values


def add_tier(
    session: Session,
    program: Program,
    *,
    name: str,
    rank: int | str,
    earn_multiplier="1",
    threshold="0",
    keep_threshold=None,
    perks: str | None = None,
    clock: Clock,
) -> Tier:
    """Add a level; every invalid field is reported at once (``details["fields"]``), and nothing is added."""
    problems = Problems("tier")
    rank = problems.check("rank", _rank, rank)
    name, multiplier, entry, keep, perks = _checked(problems, name, earn_multiplier, threshold, keep_threshold, perks)
    problems.raise_any()
    taken = session.scalar(
        select(Tier.id).where(Tier.program_id == program.id, (Tier.name == name) | (Tier.rank == rank))
    )
    if taken is not None:
        raise errors.Conflict(f"program {program.slug} already has a tier named {name!r} or ranked {rank}")
    tier = Tier(
        program_id=program.id,
        name=name,
        rank=rank,
        earn_multiplier=multiplier,
        threshold=entry,
        keep_threshold=keep,
        perks=perks,
        created_at=clock.now(),
    )
    session.add(tier)
    session.flush()
    return tier


def update_tier(
    session: Session,
    program: Program,
    tier: Tier,
    *,
    name: str,
    earn_multiplier,
    threshold,
    keep_threshold=None,
    perks: str | None = None,
) -> Tier:
    """Change a tier's name, thresholds, multiplier or perks (its rank stays); members move at the next recalculation."""
    problems = Problems("tier")
    name, multiplier, entry, keep, perks = _checked(problems, name, earn_multiplier, threshold, keep_threshold, perks)
    problems.raise_any()
    if (
        session.scalar(select(Tier.id).where(Tier.program_id == program.id, Tier.name == name, Tier.id != tier.id))
        is not None
    ):
        raise errors.Conflict(f"program {program.slug} already has a tier named {name!r}")
    tier.name, tier.earn_multiplier, tier.threshold, tier.keep_threshold = name, multiplier, entry, keep
    tier.perks = perks
    session.flush()
    return tier


#: A program's tiers, lowest first: built once, as every member read lists them (tier progress).
PROGRAM_TIERS = select(Tier).where(Tier.program_id == bindparam("program_id")).order_by(Tier.rank)


def list_tiers(session: Session, program: Program) -> list[Tier]:
    return list(session.scalars(PROGRAM_TIERS, {"program_id": program.id}))


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
    session: Session,
    member: Member,
    tier: Tier | None,
    *,
    until: datetime | None = None,
    registry,
    clock: Clock,
) -> None:
    """Give a member a tier by hand. It is also a floor: no recalculation goes below it until ``until``.

    Without a tier, the member's floor is removed and their tier cleared
    (the next recalculation gives them what their value earns).
    """
    now = clock.now()
    if until is not None and until <= now:
        raise errors.InvalidInput("the end of a manual tier must be in the future")
    old = member.tier_id
    member.tier_id = tier.id if tier else None
    member.tier_floor_id, member.tier_floor_until = (tier.id, until) if tier else (None, None)
    member.tier_at_risk_since = None
    session.flush()
    if old != member.tier_id:
        record_changes(session, member.program_id, [(member.id, old, member.tier_id, "manual", None)], now, registry)


# --- history -----------------------------------------------------------------


def record_changes(session: Session, program_id: int, changes: list[tuple], now: datetime, registry) -> None:
    """Write the tier history, record a ``tier.changed`` event per change, and tell the plugins (``tier_changed``).

    ``changes``: ``(member_id, old tier id, new tier id, reason, qualifying value)``
    tuples; the history and the events are one executemany each (a nightly
    recalculation moves thousands at once), the program's tiers one read;
    the members are loaded only when a plugin listens.
    """
    if not changes:
        return
    session.connection().execute(
        TierChange.__table__.insert(),
        [
            {
                "program_id": program_id,
                "member_id": member_id,
                "from_tier_id": old,
                "to_tier_id": new,
                "reason": reason,
                "qualifying_value": value,
                "created_at": now,
            }
            for member_id, old, new, reason, value in changes
        ],
    )
    outbox.record_many(session, tier_events(session, program_id, changes, now))
    if not registry.pm.hook.tier_changed.get_hookimpls():
        return  # nobody listens: no need to load the members
    program = session.get(Program, program_id)
    ids = [member_id for member_id, *_ in changes]
    for start in range(0, len(ids), BATCH):  # into the identity map, a batch per query
        session.scalars(select(Member).where(Member.id.in_(ids[start : start + BATCH]))).all()
    for member_id, old, new, reason, _ in changes:
        registry.tier_changed(
            program=program,
            member=session.get(Member, member_id),
            old_tier=session.get(Tier, old) if old else None,
            new_tier=session.get(Tier, new) if new else None,
            reason=reason,
        )


def tier_events(session: Session, program_id: int, changes: list[tuple], now: datetime) -> list[dict]:
    """The ``tier.changed`` rows of ``changes``: from and to which tier, up or down (by rank), and why."""
    tiers = {
        row.id: row
        for row in session.execute(select(Tier.id, Tier.name, Tier.rank).where(Tier.program_id == program_id))
    }

    def part(tier_id):
        return {"id": tier_id, "name": tiers[tier_id].name} if tier_id in tiers else None

    def rank(tier_id):
        return tiers[tier_id].rank if tier_id in tiers else None

    rows = []
    for member_id, old, new, reason, value in changes:
        up = rank(old) is None or (rank(new) is not None and rank(new) > rank(old))
        rows.append(
            outbox.row(
                program_id,
                "tier.changed",
                at=now,
                member_id=member_id,
                data={
                    "from": part(old),
                    "to": part(new),
                    "direction": "up" if up else "down",
                    "reason": reason,
                    # A decimal string, as the API writes values (points, money or orders, by the scheme).
                    "qualifying_value": None if value is None else format(Decimal(value).normalize(), "f"),
                },
            )
        )
    return rows


def history(session: Session, member: Member, *, limit: int = 50) -> list[TierChange]:
    return list(
        session.scalars(
            select(TierChange).where(TierChange.member_id == member.id).order_by(TierChange.id.desc()).limit(limit)
        )
    )
