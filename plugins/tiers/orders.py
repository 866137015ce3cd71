"""Tiers by what members buy: amount spent, or number of orders, in a window.

Paid orders count from when they were paid; a cancelled order does not
count, and refunds come off the amount.
"""

from __future__ import annotations

from sqlalchemy import Numeric, cast, func

from loyalty.plugin_api import (
    Member,
    Order,
    TierScheme,
    WindowedSchema,
    hookimpl,
    money,
    per_member,
    window_of,
)


def _per_member(program, value, start, member_ids):
    orders = Order.__table__
    counted = orders.c.paid_at.is_not(None) & (orders.c.status != "cancelled")
    if start is not None:
        counted = counted & (orders.c.paid_at >= start)
    return per_member(program, orders, (orders.c.member_id == Member.id) & counted, value(orders), member_ids)


class AmountSpent(TierScheme):
    name = "amount_spent"
    title = "Amount spent in a window"
    description = (
        "What the member paid (less refunds) in the last N days or this calendar year, in the program's currency."
    )
    metric = "amount"
    schema = WindowedSchema

    def qualifying_values(self, program, settings, now, member_ids=None):
        unit = 10 ** money.exponent(program.currency)
        return _per_member(
            program,
            lambda orders: cast(func.sum(orders.c.total_minor - orders.c.refunded_minor), Numeric(20, 4)) / unit,
            window_of(settings, now).start,
            member_ids,
        )


class OrdersCount(TierScheme):
    name = "orders_count"
    title = "Orders in a window"
    description = "Paid orders (not cancelled) in the last N days or this calendar year."
    metric = "orders"
    schema = WindowedSchema

    def qualifying_values(self, program, settings, now, member_ids=None):
        return _per_member(program, lambda orders: func.count(orders.c.id), window_of(settings, now).start, member_ids)


@hookimpl
def register_tier_schemes(register):
    register(AmountSpent())
    register(OrdersCount())
