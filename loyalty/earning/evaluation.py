"""Running a rule on an event: the member as rules see them, and the awards a rule has posted.

A rule type (:mod:`loyalty.earning.rule_types`) sees views, not rows: a
:class:`~loyalty.earning.rule_types.MemberView` with the member's tier and
order history, and a ``count_awards`` bound to this member and rule so that
caps and once-only rules can ask what they have already given. The
pipeline, its set-based batch and the dry run all build them here, so a rule
gets the same shape of context whichever way the event came.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from loyalty.earning.rule_types import ComputedAward, EarningContext, MemberView, evaluate_rule
from loyalty.earning.rules import RuleSpec
from loyalty.models import CustomEventRecord, Entry, Member, Order, Tier


def member_view(
    session: Session, member: Member, *, exclude_order_id: int | None = None, previous_paid_orders: int | None = None
) -> MemberView:
    """The member as rules see them; ``previous_paid_orders`` when the caller has counted already."""
    tier = session.get(Tier, member.tier_id) if member.tier_id else None
    if previous_paid_orders is None:
        previous = (
            select(func.count()).select_from(Order).where(Order.member_id == member.id, Order.paid_at.is_not(None))
        )
        if exclude_order_id is not None:
            previous = previous.where(Order.id != exclude_order_id)
        previous_paid_orders = session.scalar(previous)
    return MemberView(
        member.id,
        member.external_id,
        member.email,
        member.birthday,
        tier.name if tier else None,
        tier.earn_multiplier if tier else Decimal(1),
        previous_paid_orders,
    )


def evaluate(session: Session, rule: RuleSpec, context: EarningContext, member: Member | None) -> list[ComputedAward]:
    """Run ``rule`` on ``context``, its ``count_awards`` bound to the member and the rule."""

    def awards_since(since: datetime | None) -> int:
        if member is None or rule.id is None:
            return 0  # a dry run's new member, or a draft rule: nothing awarded yet
        return count_awards(session, member.id, rule.id, since)

    return evaluate_rule(rule.type, rule.id, rule.name, rule.config, replace(context, count_awards=awards_since))


def count_awards(session: Session, member_id: int, rule_id: int, since: datetime | None) -> int:
    """How many awards ``rule_id`` posted to the member for events that happened at ``since`` or later.

    Awards are ledger entries, and entries carry no event time, so each
    is dated by what earned it, without a column of its own: an order's
    award (keyed ``order:<order id>:rule:<rule id>[:part]``, sourced
    from the order) by the order's ``paid_at``, which is when it
    happened; a custom event's (``event:<event id>:rule:…``, sourced
    from the rule) by its record's ``occurred_at``; an enrolment's or a
    birthday's by its posting, which is when it happened (and custom
    events processed before they were recorded fall back to that too).
    Awards of a cancelled order do not count; refunds leave the count
    as it is. One count per source, on the member's entries.
    """
    order_key = literal("order:") + cast(Order.id, String) + literal(f":rule:{rule_id:d}")
    orders = (
        select(func.count())
        .select_from(Entry)
        .join(Order, (Order.program_id == Entry.program_id) & (Order.external_id == Entry.source_id))
        .where(
            Entry.member_id == member_id,
            Entry.kind == "earn",
            Entry.source_type == "order",
            Order.member_id == member_id,
            Order.status != "cancelled",
            # Order ids are digits: no LIKE wildcard in the pattern but the trailing part's.
            or_(Entry.idempotency_key == order_key, Entry.idempotency_key.like(order_key + literal(":%"))),
        )
    )
    event_key = literal("event:") + CustomEventRecord.event_id + literal(f":rule:{rule_id:d}")
    events = (
        select(func.count())
        .select_from(Entry)
        .outerjoin(
            CustomEventRecord,
            (CustomEventRecord.program_id == Entry.program_id)
            & (CustomEventRecord.member_id == Entry.member_id)
            & or_(
                Entry.idempotency_key == event_key,  # event ids may hold wildcards: no LIKE
                func.substr(Entry.idempotency_key, 1, func.length(event_key) + 1) == event_key + literal(":"),
            ),
        )
        .where(
            Entry.member_id == member_id,
            Entry.kind == "earn",
            Entry.source_type == "rule",
            Entry.source_id == str(rule_id),
        )
    )
    if since is not None:
        orders = orders.where(Order.paid_at >= since)
        events = events.where(func.coalesce(CustomEventRecord.occurred_at, Entry.created_at) >= since)
    return session.scalar(orders) + session.scalar(events)
