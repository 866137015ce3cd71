"""The kit for earning rules and events: build an order, add a rule, push an event through the pipeline."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from loyalty.earning.events import Customer, Line, OrderPaid

_order_ids = itertools.count(1001)


def order_paid(
    total="50.00",
    *,
    customer: str | Customer | None = "c-1",
    currency: str = "USD",
    subtotal=None,
    discount="0",
    tax="0",
    shipping="0",
    lines=None,
    order_id: str | None = None,
    **extra,
) -> OrderPaid:
    """A paid order event with sensible defaults: ``order_paid("80.00", lines=[...])``.

    ``lines`` are dicts (``{"sku": "A", "total": "30.00"}``) or :class:`Line`;
    without lines the order has one line for the whole subtotal.
    """
    subtotal = Decimal(str(subtotal if subtotal is not None else total))
    if lines is None:
        lines = [{"id": "1", "title": "Item", "total": str(subtotal)}]
    built = tuple(
        line
        if isinstance(line, Line)
        else Line(
            id=str(line.get("id", index)),
            title=line.get("title", f"Line {index}"),
            quantity=int(line.get("quantity", 1)),
            total=Decimal(str(line["total"])),
            product_id=line.get("product_id"),
            sku=line.get("sku"),
            categories=tuple(line.get("categories", ())),
        )
        for index, line in enumerate(lines, start=1)
    )
    if isinstance(customer, str):
        customer = Customer(external_id=customer, email=f"{customer}@example.com")
    return OrderPaid(
        order_id=order_id or str(next(_order_ids)),
        customer=customer,
        currency=currency,
        subtotal=subtotal,
        total=Decimal(str(total)),
        discount=Decimal(str(discount)),
        tax=Decimal(str(tax)),
        shipping=Decimal(str(shipping)),
        lines=built,
        **extra,
    )


@pytest.fixture
def loyalty_add_rule(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_add_rule("points_per_currency", {"points_per_unit": "1"})`` → the stored rule."""
    from loyalty.earning.rules import add_rule

    def add(type: str, config: dict | None = None, *, name: str | None = None, program=None):
        rule = add_rule(
            loyalty_session,
            program or loyalty_program,
            loyalty_registry,
            type=type,
            name=name or type,
            config=config,
            clock=loyalty_clock,
        )
        loyalty_session.commit()
        return rule

    return add


@pytest.fixture
def loyalty_push(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_push(event)`` processes one event in its own transaction and returns the outcome."""
    from loyalty.earning.pipeline import process

    def push(event, *, program=None):
        outcome = process(
            loyalty_session, program or loyalty_program, event, registry=loyalty_registry, clock=loyalty_clock
        )
        loyalty_session.commit()
        return outcome

    return push
