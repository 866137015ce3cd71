"""Paid orders in bulk: a worker's batch of ``orders/paid`` deliveries, set-based.

:func:`loyalty.earning.pipeline.process` handles one event in about a dozen
statements (find the member, lock them, look for the order, insert it,
count earlier orders, post each award, ...). Busy stores send mostly paid
orders of customers who are already members, and a worker claims them a
hundred at a time; :func:`process_paid_orders` does the same work for all
of them with a fixed number of statements: the members by external id,
their accounts locked at once, the known orders and the earlier paid
orders counted in one query each, the orders inserted in one statement and
every award posted through :meth:`loyalty.ledger.Ledger.earn_new`.

The result is what processing the events one after another gives, because
it takes only events that do not depend on each other: each for a
different, already enrolled, active member and a new order. Everything
else (a customer to enrol, whose sign-up rules must run first; an order
already known; a member's second order in the batch; an order the checks
refuse; an order that may touch a referral) is handed back, and the caller processes those one by one with
:func:`~loyalty.earning.pipeline.process` afterwards, in their original order.
Rules still run one event at a time, with the same context; only the reads
and writes around them are gathered.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.db import insert_many
from loyalty.earning.evaluation import member_view
from loyalty.earning.events import Event, OrderPaid
from loyalty.earning.orders import order_earning, order_view, paid_order_values
from loyalty.earning.pipeline import Outcome, Pipeline, PipelineCache
from loyalty.models import Member, Order, Program
from loyalty.referrals.attribution import needs_one_by_one
from loyalty.rewards.redeem import mark_used


def process_paid_orders(
    session: Session,
    program: Program,
    events: list[Event],
    *,
    registry,
    clock: Clock,
    cache: PipelineCache | None = None,
) -> list[Outcome | None]:
    """Process the independent paid orders among ``events`` together.

    Returns one item per event: its :class:`~loyalty.earning.pipeline.Outcome` (the
    awards and the member; no ``order`` object is loaded), or ``None`` for
    an event left for one-by-one processing. The caller owns the
    transaction; an unexpected error leaves it to be rolled back whole.
    """
    pipeline = Pipeline(session, program, registry=registry, clock=clock, cache=cache)
    results: list[Outcome | None] = [None] * len(events)
    picked = _independent_orders(program, events)
    if not picked:
        return results
    customers = {event.customer.external_id.strip() for event, _ in picked.values()}
    members = {
        member.external_id: member
        for member in session.scalars(
            select(Member).where(Member.program_id == program.id, Member.external_id.in_(customers))
        )
        if member.status == "active"
    }
    picked = {i: (e, v) for i, (e, v) in picked.items() if e.customer.external_id.strip() in members}
    referred = needs_one_by_one(session, program, {i: e for i, (e, _) in picked.items()})
    picked = {i: (e, v) for i, (e, v) in picked.items() if i not in referred}
    if not picked:
        return results
    member_of = {i: members[e.customer.external_id.strip()] for i, (e, _) in picked.items()}
    pipeline.ledger.hold_many(member.id for member in member_of.values())
    known = set(
        session.scalars(
            select(Order.external_id).where(
                Order.program_id == program.id, Order.external_id.in_([view.external_id for _, view in picked.values()])
            )
        )
    )
    picked = {i: (e, v) for i, (e, v) in picked.items() if v.external_id not in known}
    if not picked:
        return results
    earlier_orders = dict(
        session.execute(
            select(Order.member_id, func.count())
            .where(Order.member_id.in_([member_of[i].id for i in picked]), Order.paid_at.is_not(None))
            .group_by(Order.member_id)
        ).all()
    )

    evaluated = []
    for i, (event, view) in picked.items():
        member = member_of[i]
        occurred = pipeline.occurred_at(event)
        seen = member_view(session, member, previous_paid_orders=earlier_orders.get(member.id, 0))
        context = pipeline.context("order_paid", seen, occurred, order=view)
        try:
            awards = [
                (rule, award)
                for rule in pipeline.active_rules("order_paid")
                for award in pipeline.evaluate(rule, context, member)
            ]
        except errors.LoyaltyError:
            continue  # one by one, where the error is recorded on its own delivery
        evaluated.append((i, event, view, member, occurred, awards))
    if not evaluated:
        return results

    order_ids = insert_many(
        session.connection(),
        Order.__table__,
        [
            paid_order_values(program, pipeline.clock, event, view, member, occurred)
            for _, event, view, member, occurred, _ in evaluated
        ],
    )
    earnings, owners = [], []
    for (i, _, view, member, occurred, awards), order_id in zip(evaluated, order_ids):
        results[i] = Outcome("processed", member=member)
        if view.discount_codes:  # a reward's code: the redemption is used
            mark_used(session, program, order_id, view.discount_codes, occurred)
        for rule, award in awards:
            earnings.append(order_earning(program, member, order_id, view.external_id, occurred, rule, award))
            owners.append((i, view.external_id, rule, award))
    postings = pipeline.ledger.earn_new(earnings)
    for (i, external_id, rule, award), posting in zip(owners, postings):
        pipeline.order_posted(results[i].member, external_id, rule, posting)
        results[i].awards.append((award, posting))
    pipeline.tier_check([member.id for _, _, _, member, _, _ in evaluated])
    return results


def _independent_orders(program: Program, events: list[Event]) -> dict[int, tuple]:
    """The paid orders that may go together: ``{index: (event, order view)}``.

    Each is the first event of its customer and of its order id in the
    list, so nothing processed later one by one can come before it for the
    same member or order. Picking stops at the first event that is not a
    paid order (a refund names no customer).
    """
    picked, seen = {}, set()
    for i, event in enumerate(events):
        if not isinstance(event, OrderPaid):
            break
        customer = (event.customer.external_id or "").strip() if event.customer else ""
        order = str(event.order_id)
        first = ("order", order) not in seen and ("customer", customer) not in seen
        seen.update({("order", order), ("customer", customer)} if customer else {("order", order)})
        if not first or not customer:
            continue
        try:
            picked[i] = (event, order_view(program, event))
        except errors.LoyaltyError:
            continue
    return picked
