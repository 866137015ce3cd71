"""A tier scheme: members qualify by their largest single order in a window ("one order of $200 makes you Gold").

A complete tier scheme plugin: settings (the window, from the platform's
:class:`WindowedSchema`, which also brings the downgrade policy), and one
set-based query giving every member's value. Thresholds, keep
thresholds, downgrades and manual floors are the platform's business.
A refund comes off the order it refunds; a cancelled order does not count.
"""

from sqlalchemy import Numeric, cast, func

from loyalty.plugin_api import Member, Order, TierScheme, WindowedSchema, hookimpl, money, per_member, window_of


class LargestOrder(TierScheme):
    name = "largest_order"
    title = "Largest order in a window"
    description = "The member's largest paid order (less its refunds) in the last N days or this calendar year."
    metric = "amount"
    schema = WindowedSchema

    def qualifying_values(self, program, settings, now, member_ids=None):
        orders = Order.__table__
        counted = orders.c.paid_at.is_not(None) & (orders.c.status != "cancelled")
        start = window_of(settings, now).start
        if start is not None:
            counted = counted & (orders.c.paid_at >= start)
        unit = 10 ** money.exponent(program.currency)
        largest = cast(func.max(orders.c.total_minor - orders.c.refunded_minor), Numeric(20, 4)) / unit
        return per_member(program, orders, (orders.c.member_id == Member.id) & counted, largest, member_ids)


@hookimpl
def register_tier_schemes(register):
    register(LargestOrder())
