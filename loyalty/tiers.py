"""Tiers: levels of a program whose perks (an earn multiplier) apply to what members earn.

Tier schemes and recalculation come with the tiers issue; for now tiers
are defined and given to members by hand.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock, current_clock
from loyalty.models import Member, Program, Tier


def add_tier(
    session: Session, program: Program, *, name: str, rank: int, earn_multiplier="1", clock: Clock | None = None
) -> Tier:
    if not name or not name.strip():
        raise errors.InvalidInput("a tier needs a name")
    try:
        multiplier = Decimal(str(earn_multiplier))
    except InvalidOperation:
        raise errors.InvalidInput(f"earn multiplier {earn_multiplier!r} is not a number") from None
    if not multiplier.is_finite() or multiplier <= 0 or multiplier > 100:
        raise errors.InvalidInput("the earn multiplier must be above 0 and at most 100")
    taken = session.scalar(
        select(Tier.id).where(Tier.program_id == program.id, (Tier.name == name.strip()) | (Tier.rank == rank))
    )
    if taken is not None:
        raise errors.Conflict(f"program {program.slug} already has a tier named {name!r} or ranked {rank}")
    tier = Tier(
        program_id=program.id, name=name.strip(), rank=rank, earn_multiplier=multiplier,
        created_at=(clock or current_clock()).now(),
    )
    session.add(tier)
    session.flush()
    return tier


def list_tiers(session: Session, program: Program) -> list[Tier]:
    return list(session.scalars(select(Tier).where(Tier.program_id == program.id).order_by(Tier.rank)))


def get_tier(session: Session, program: Program, name: str) -> Tier:
    tier = session.scalar(select(Tier).where(Tier.program_id == program.id, Tier.name == name))
    if tier is None:
        raise errors.UnknownTier(f"no tier {name!r} in program {program.slug}")
    return tier


def set_member_tier(session: Session, member: Member, tier: Tier | None) -> None:
    member.tier_id = tier.id if tier else None
    session.flush()
