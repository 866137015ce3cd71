"""Refunds and cancellations in bulk: a wave of a worker's batch, set-based.

:meth:`Pipeline.order_refunded <loyalty.earning.pipeline.Pipeline.order_refunded>`
and :meth:`~loyalty.earning.pipeline.Pipeline.order_cancelled` take about ten
statements per event (find the order, its member, lock both, look for the
refund id, insert the refund, update the order, read what it earned and
what was reversed, then reverse). :func:`process_order_changes` does the
same for a wave of events with a fixed number of statements: the orders
and their members in one query, the members' accounts locked at once, the
orders locked in one ``FOR UPDATE``, the refund ids already applied in one
query, the refunds inserted in one executemany, the orders updated in one
executemany per kind of change, and what the orders earned and had reversed
in two queries, and every order's reversals posted together
(:meth:`loyalty.ledger.Ledger.reverse_many`, itself a fixed number of
statements).

The decisions are the one-by-one pipeline's own (:func:`loyalty.earning.refunds.check_refund`,
:func:`~loyalty.earning.refunds.plan_refund`, :func:`~loyalty.earning.refunds.record_refund`,
:func:`~loyalty.earning.refunds.claw_back_plan`, :func:`loyalty.earning.orders.mark_cancelled`),
so the result is what processing the events one after another gives. The
caller guarantees that the events name distinct orders of distinct members
that nothing else in the wave touches, so their order does not matter.
What is left out is handed back (absent from the result) for
:func:`~loyalty.earning.pipeline.process` to handle one by one: an unknown
order (deferred there), a refund that fails the checks (the error is
recorded on its own delivery), and an order that qualified a referral
still under review (:func:`loyalty.referrals.review.on_order_changed`).
"""

from __future__ import annotations

from sqlalchemy import select

from loyalty import errors
from loyalty.db import insert_many
from loyalty.earning import orders as order_book
from loyalty.earning import refunds
from loyalty.earning.events import OrderCancelled, OrderRefunded
from loyalty.earning.pipeline import Outcome, Pipeline
from loyalty.models import Member, Order, OrderRefund, Referral


def process_order_changes(
    pipeline: Pipeline,
    events: list[tuple[int, OrderRefunded | OrderCancelled]],
) -> dict[int, Outcome]:
    """Process a wave's refunds and cancellations together: ``{index: outcome}`` for those processed.

    ``events``: ``(index in the caller's list, event)``, each already
    checked (:func:`loyalty.earning.event_checks.checked`), naming distinct
    orders of distinct members. Each outcome is what
    :meth:`~loyalty.earning.pipeline.Pipeline.order_refunded` or
    :meth:`~loyalty.earning.pipeline.Pipeline.order_cancelled` returns,
    ``order`` included (the orders are loaded anyway, to be locked). An
    event handed back is absent. The caller owns the transaction.
    """
    session, program = pipeline.session, pipeline.program
    if not events:
        return {}
    wanted = {str(event.order_id) for _, event in events}
    found = session.execute(
        select(Order.id, Order.external_id, Order.member_id).where(
            Order.program_id == program.id, Order.external_id.in_(wanted)
        )
    ).all()
    order_id_of = {row.external_id: row.id for row in found}
    picked = [(i, event) for i, event in events if str(event.order_id) in order_id_of]  # unknown: deferred there
    if not picked:
        return {}
    # Locks in the pipeline's order: members first, then their orders (loyalty.earning.orders.order_and_member).
    member_ids = sorted({row.member_id for row in found if row.member_id is not None})
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))} if member_ids else {}
    if member_ids:
        pipeline.ledger.hold_many(member_ids)
    locked = {
        order.external_id: order
        for order in session.scalars(
            select(Order)
            .where(Order.id.in_([order_id_of[str(e.order_id)] for _, e in picked]))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    picked = [(i, event, locked[str(event.order_id)]) for i, event in picked]
    under_review = _qualifying_orders(pipeline, [order for _, _, order in picked])
    picked = [(i, event, order) for i, event, order in picked if order.id not in under_review]

    results: dict[int, Outcome] = {}
    refunded, cancelled = [], []  # (index, event, order, refund plan) and (index, event, order)
    refund_checks = {}
    for i, event, order in picked:
        if isinstance(event, OrderRefunded):
            try:
                refund_checks[i] = refunds.check_refund(order, event)
            except errors.LoyaltyError:
                continue  # one by one, where the error is recorded on its own delivery
    applied = _applied_refunds(
        session, [(order.id, event.refund_id) for i, event, order in picked if i in refund_checks]
    )
    for i, event, order in picked:
        member = members.get(order.member_id)
        if isinstance(event, OrderCancelled):
            if order.status == "cancelled":
                results[i] = Outcome("duplicate", f"order {order.external_id} was already cancelled", member, order)
            else:
                cancelled.append((i, event, order))
        elif i in refund_checks:
            plan = refunds.plan_refund(
                order, event, refund_checks[i], applied_before=(order.id, event.refund_id) in applied
            )
            if plan.amount_minor == 0:
                results[i] = Outcome(plan.status, plan.message, member, order, note=plan.note)
            else:
                refunded.append((i, event, order, plan))

    now = pipeline.clock.now()
    refund_ids = insert_many(
        session.connection(),
        OrderRefund.__table__,
        [
            dict(
                order_id=order.id,
                external_id=event.refund_id,
                amount_minor=plan.amount_minor,
                refunded_at=pipeline.occurred_at(event),
                created_at=now,
            )
            for _, event, order, plan in refunded
        ],
    )
    # A flush per kind of change: each sets the same columns on every row, so each is one executemany
    # (rows of both kinds in one flush would interleave by id and be updated one at a time).
    for _, _, order, plan in refunded:
        refunds.record_refund(order, plan.amount_minor, now)
    session.flush()
    for _, event, order in cancelled:
        order_book.mark_cancelled(order, pipeline.occurred_at(event), now)
    session.flush()

    changed = [order for _, _, order, _ in refunded] + [order for _, _, order in cancelled]
    earned = order_book.earned_many(session, [order for order in changed if order.member_id is not None])
    planned = []  # (index, the order's reversals): every order's posted together
    for (i, event, order, plan), refund_id in zip(refunded, refund_ids):
        results[i] = Outcome("processed", member=members.get(order.member_id), order=order, note=plan.note)
        if results[i].member is not None:
            points = refunds.refund_claw_back(order, earned[order.id])
            reason = f"Refund {event.refund_id} of order {order.external_id}"
            planned.append(
                (i, refunds.claw_back_plan(earned[order.id], points, key=f"refund:{refund_id}", reason=reason))
            )
    for i, _, order in cancelled:
        results[i] = Outcome("processed", member=members.get(order.member_id), order=order)
        if results[i].member is not None:
            points = refunds.cancel_claw_back(earned[order.id])
            reason = f"Order {order.external_id} cancelled"
            planned.append(
                (i, refunds.claw_back_plan(earned[order.id], points, key=f"cancel:{order.id}", reason=reason))
            )
    receipts = iter(pipeline.ledger.reverse_many([r for _, reversals in planned for r in reversals]))
    for i, reversals in planned:
        results[i].reversals = [next(receipts) for _ in reversals]
    return results


def _qualifying_orders(pipeline: Pipeline, orders: list[Order]) -> set[int]:
    """The orders that qualified a referral still under review: one by one, where the review sees them.

    :func:`loyalty.referrals.review.on_order_changed` acts only on a
    converted or flagged referral of the order itself (and never on a
    guest order), so any other order's change leaves referrals alone.
    """
    ids = [order.id for order in orders if order.member_id is not None]
    if not pipeline.program.referral_terms or not ids:
        return set()
    return set(
        pipeline.session.scalars(
            select(Referral.order_id).where(Referral.order_id.in_(ids), Referral.status.in_(("converted", "flagged")))
        )
    )


def _applied_refunds(session, pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which ``(order id, refund id)`` pairs are recorded already, in one query."""
    if not pairs:
        return set()
    rows = session.execute(
        select(OrderRefund.order_id, OrderRefund.external_id).where(
            OrderRefund.order_id.in_({order_id for order_id, _ in pairs}),
            OrderRefund.external_id.in_({refund_id for _, refund_id in pairs}),
        )
    ).all()
    return {(row.order_id, row.external_id) for row in rows} & set(pairs)
