"""Tiers by points earned in a window, or over the member's lifetime.

Earned means earn entries less what refunds and cancellations took back of
them; spending and expiry never count, so redeeming points never demotes.
"""

from __future__ import annotations

from sqlalchemy import func, select

from loyalty.plugin_api import (
    MEMBER_EARNED,
    MEMBER_EARNED_SINCE,
    Entry,
    Member,
    TierScheme,
    TierSchemeSchema,
    WindowedSchema,
    hookimpl,
    per_member,
    window_of,
)


def earned_points(program, start, member_ids=None):
    """``(member_id, points)``: earnings since ``start`` (None: ever), less their claw-backs."""
    original = Entry.__table__.alias("original")
    entries = Entry.__table__
    earned = select(entries.c.member_id, entries.c.amount.label("points")).where(
        entries.c.program_id == program.id, entries.c.kind == "earn"
    )
    clawed = (
        select(entries.c.member_id, (-entries.c.amount).label("points"))
        .select_from(entries.join(original, original.c.id == entries.c.reverses_id))
        .where(entries.c.program_id == program.id, entries.c.kind == "reverse", original.c.kind == "earn")
    )
    if start is not None:
        # A claw-back counts in the window its earning counted in.
        earned = earned.where(entries.c.created_at >= start)
        clawed = clawed.where(original.c.created_at >= start)
    if member_ids is not None:
        earned = earned.where(entries.c.member_id.in_(list(member_ids)))
        clawed = clawed.where(entries.c.member_id.in_(list(member_ids)))
    moves = earned.union_all(clawed).subquery()
    return per_member(program, moves, moves.c.member_id == Member.id, func.sum(moves.c.points), member_ids)


class PointsEarned(TierScheme):
    name = "points_earned"
    title = "Points earned in a window"
    description = "Points earned in the last N days or this calendar year (spending never counts)."
    metric = "points"
    schema = WindowedSchema

    def qualifying_values(self, program, settings, now, member_ids=None):
        return earned_points(program, window_of(settings, now).start, member_ids)

    def member_value(self, program, settings, now, member_id):
        start = window_of(settings, now).start
        if start is None:
            return MEMBER_EARNED, {"member_id": member_id}
        return MEMBER_EARNED_SINCE, {"member_id": member_id, "start": start}


class LifetimePoints(TierScheme):
    name = "lifetime_points"
    title = "Lifetime points"
    description = "Every point the member has ever earned (less refunds); members only ever go up."
    metric = "points"
    schema = TierSchemeSchema

    def qualifying_values(self, program, settings, now, member_ids=None):
        return earned_points(program, None, member_ids)

    def member_value(self, program, settings, now, member_id):
        return MEMBER_EARNED, {"member_id": member_id}


@hookimpl
def register_tier_schemes(register):
    register(PointsEarned())
    register(LifetimePoints())
