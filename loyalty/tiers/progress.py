"""A member's progress: the value their scheme counts, the next tier and what is left, what keeps theirs.

What the API's member resource and the admin show; it reads, never moves
a member (that is :mod:`loyalty.tiers.recalculate`). :func:`plain` writes
thresholds and values as people write them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from loyalty.clock import Clock
from loyalty.models import Member, Program, Tier
from loyalty.tiers.levels import list_tiers
from loyalty.tiers.schemes import scheme_of, window_of


def progress(
    session: Session, program: Program, member: Member, *, registry, clock: Clock, tiers: list[Tier] | None = None
) -> dict | None:
    """Where the member stands: the metric, their value, the next tier and what is left, what keeps theirs.

    ``None`` when the program has no tier scheme. ``tiers``: the program's
    tiers (:func:`list_tiers`), if the caller listed them already.
    """
    if program.tier_scheme is None:
        return None
    now = clock.now()
    scheme = scheme_of(registry, program.tier_scheme)
    settings = program.tier_settings or {}
    statement, parameters = scheme.member_value(program, settings, now, member.id)
    value = Decimal(session.scalar(statement, parameters) or 0)
    tiers = list_tiers(session, program) if tiers is None else tiers
    current = next((tier for tier in tiers if tier.id == member.tier_id), None)
    above = [tier for tier in tiers if tier.rank > (current.rank if current else -(10**9))]
    following = next((tier for tier in above if tier.threshold > value), above[0] if above else None)
    keep = None
    if current is not None and settings.get("downgrade", "at_recalculation") != "never":
        needed = current.keep_threshold if current.keep_threshold is not None else current.threshold
        floor_holds = member.tier_floor_id == current.id and (
            member.tier_floor_until is None or member.tier_floor_until > now
        )
        keep = {
            "threshold": plain(needed),
            "by": window_of(settings, now).resets_at,
            "held_by_manual_tier_until": member.tier_floor_until if floor_holds else None,
        }
    return {
        "scheme": scheme.name,
        "metric": scheme.metric,
        "value": plain(value),
        "next_tier": None
        if following is None
        else {
            "name": following.name,
            "threshold": plain(following.threshold),
            "remaining": plain(max(following.threshold - value, Decimal(0))),
        },
        "keep": keep,
    }


def plain(number: Decimal | None) -> Decimal | None:
    """``500.0000`` as ``500`` and ``12.5000`` as ``12.5`` (never ``5E+2``): thresholds as people write them."""
    if number is None:
        return None
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
