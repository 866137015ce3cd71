"""Order bookkeeping for the earning pipeline: an order's money checked, its row, what it earned.

* :func:`order_view`: a paid order's money checked (currency, precision,
  no floats) into the :class:`~loyalty.earning.rule_types.OrderView` rules
  see, before anything is written;
* :func:`record_order` and :func:`paid_order_values`: the order's row, new
  or an open order now paid (the batch inserts the same values in bulk);
* :func:`order_earning`: what one award of an order posts, keyed so the
  same order earns once however often it arrives;
* :func:`order_and_member` and :func:`earned`: a known order, locked as
  the pipeline locks, and the earn entries a refund or cancellation
  claws back from.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.clock import Clock
from loyalty.earning.events import OrderPaid
from loyalty.earning.rule_types import ComputedAward, LineView, OrderView
from loyalty.earning.rules import RuleSpec
from loyalty.ledger import Ledger, NewEarning
from loyalty.models import Entry, Member, Order, Program
from loyalty.programs.expiry import lot_expiry


def order_view(program: Program, event: OrderPaid) -> OrderView:
    """Validate an order's money (currency, precision, no floats) into the view rules see."""
    currency = (event.currency or "").upper()
    if currency != program.currency:
        raise errors.InvalidInput(
            f"order {event.order_id} is in {event.currency}; program {program.slug} earns on {program.currency}"
        )
    if not event.order_id:
        raise errors.InvalidInput("an order needs the store's order id")

    def amount(value, name):
        parsed = money.to_decimal(value, currency, field=name)
        if parsed < 0:
            raise errors.InvalidInput(f"{name} must not be negative")
        return parsed

    lines = tuple(
        LineView(
            str(line.id),
            line.product_id,
            line.sku,
            line.title,
            int(line.quantity),
            amount(line.total, f"lines[{i}].total"),
            tuple(line.categories),
        )
        for i, line in enumerate(event.lines)
    )
    return OrderView(
        external_id=str(event.order_id),
        currency=currency,
        subtotal=amount(event.subtotal, "subtotal"),
        discount=amount(event.discount, "discount"),
        tax=amount(event.tax, "tax"),
        shipping=amount(event.shipping, "shipping"),
        total=amount(event.total, "total"),
        lines=lines,
        discount_codes=tuple(event.discount_codes),
        attributes=dict(event.attributes),
    )


def record_order(
    session: Session,
    program: Program,
    clock: Clock,
    event: OrderPaid,
    view: OrderView,
    member: Member | None,
    occurred: datetime,
) -> tuple[Order, bool]:
    """Insert the order as paid, or mark a known open order paid. ``(order, fresh)``."""
    order = session.scalar(select(Order).where(Order.program_id == program.id, Order.external_id == view.external_id))
    if order is not None and order.status != "open":
        return order, False
    values = paid_order_values(program, clock, event, view, member, occurred)
    if order is None:
        order = Order(**values)
        session.add(order)
    else:
        for name in ("program_id", "external_id", "refunded_minor", "placed_at", "created_at"):
            del values[name]  # an open order keeps what it was created with
        for name, value in values.items():
            setattr(order, name, value)
    session.flush()
    return order, True


def paid_order_values(
    program: Program, clock: Clock, event: OrderPaid, view: OrderView, member: Member | None, occurred: datetime
) -> dict:
    """The columns of a new paid order (also what paying a known open order sets)."""
    now = clock.now()
    minor = lambda value: money.to_minor(value, view.currency)  # noqa: E731
    return dict(
        program_id=program.id,
        external_id=view.external_id,
        refunded_minor=0,
        placed_at=occurred,
        created_at=now,
        member_id=member.id if member else None,
        origin=event.origin,
        currency=view.currency,
        subtotal_minor=minor(view.subtotal),
        discount_minor=minor(view.discount),
        tax_minor=minor(view.tax),
        shipping_minor=minor(view.shipping),
        total_minor=minor(view.total),
        lines=[
            {
                "id": line.id,
                "title": line.title,
                "quantity": line.quantity,
                "total": str(line.total),
                "product_id": line.product_id,
                "sku": line.sku,
                "categories": list(line.categories),
            }
            for line in view.lines
        ],
        discount_codes=list(view.discount_codes),
        attributes=view.attributes,
        shipping_key=event.shipping_address.key() if event.shipping_address else None,
        status="paid",
        paid_at=occurred,
        updated_at=now,
    )


def order_earning(
    program: Program,
    member: Member,
    order_id: int,
    external_id: str,
    occurred: datetime,
    rule: RuleSpec,
    award: ComputedAward,
) -> NewEarning:
    """What an order's award posts: keyed by (order, rule, part), pending for the return window."""
    window = program.return_window_days
    return NewEarning(
        member,
        award.points,
        key=f"order:{order_id}:rule:{rule.id}" + (f":{award.part}" if award.part else ""),
        pending=window > 0,
        release_at=occurred + timedelta(days=window) if window > 0 else None,
        expires_at=lot_expiry(program, occurred),
        reason=rule.reason(award),
        actor="pipeline",
        source=("order", external_id),
        cause={"type": "order", "order_id": external_id, "rule": rule.name},
    )


def order_and_member(
    session: Session, program: Program, ledger: Ledger, external_id: str
) -> tuple[Order, Member | None]:
    """The order and its member, locked in the pipeline's order: member first, then order.

    (Paying an order locks the member, then writes the order; taking
    them the other way round here could deadlock with it.)
    """
    query = select(Order).where(Order.program_id == program.id, Order.external_id == str(external_id))
    order = session.scalar(query)
    if order is None:
        raise errors.OrderNotFound(
            f"order {external_id} is not known yet in program {program.slug}", order_id=str(external_id)
        )
    member = session.get(Member, order.member_id) if order.member_id else None
    if member is not None:
        ledger.hold(member.id)
    order = session.scalar(query.with_for_update().execution_options(populate_existing=True))
    return order, member


def mark_cancelled(order: Order, when: datetime, now: datetime) -> None:
    """The order's side of a cancellation (the batch sets the same columns)."""
    order.status = "cancelled"
    order.cancelled_at = when
    order.updated_at = now


def earned(session: Session, order: Order) -> list[tuple[int, int, int]]:
    """The order's earn entries: ``(entry id, amount, reversed so far)``."""
    return earned_many(session, [order])[order.id]


def earned_many(session: Session, orders: list[Order]) -> dict[int, list[tuple[int, int, int]]]:
    """Each order's earn entries, by order id, in two queries whatever the number of orders.

    An order's entries are its member's earn entries whose source is the
    order, ``(entry id, amount, reversed so far)`` in entry id order.
    """
    owned = {(order.member_id, order.external_id): order.id for order in orders}
    found: dict[int, list[tuple[int, int, int]]] = {order.id: [] for order in orders}
    if not owned:
        return found
    entries = session.execute(
        select(Entry.id, Entry.amount, Entry.member_id, Entry.source_id)
        .where(
            Entry.member_id.in_({member_id for member_id, _ in owned}),
            Entry.kind == "earn",
            Entry.source_type == "order",
            Entry.source_id.in_({external_id for _, external_id in owned}),
        )
        .order_by(Entry.id)
    ).all()
    entries = [e for e in entries if (e.member_id, e.source_id) in owned]
    reversed_ = (
        dict(
            session.execute(
                select(Entry.reverses_id, func.sum(Entry.amount))
                .where(Entry.reverses_id.in_([e.id for e in entries]))
                .group_by(Entry.reverses_id)
            ).all()
        )
        if entries
        else {}
    )
    for e in entries:
        # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
        found[owned[(e.member_id, e.source_id)]].append((e.id, e.amount, int(reversed_.get(e.id, 0))))
    return found
