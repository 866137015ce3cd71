"""Order below the minimum: the terms' ``min_order``, after discounts, before tax and shipping."""

from __future__ import annotations

from loyalty.plugin_api import ReferralCheck, hookimpl


class MinimumOrder(ReferralCheck):
    name = "minimum_order"
    title = "Order below the minimum"
    description = "The friend's order, after discounts and before tax and shipping, is below the terms' minimum."
    default_action = "reject"

    def check(self, referral, settings):
        order, minimum = referral.order, referral.terms.min_order
        if order is None or order.after_discounts >= minimum:
            return None
        return (
            f"order {order.external_id} is {order.after_discounts} {order.currency} after discounts, "
            f"below the minimum of {minimum} {order.currency}"
        )


@hookimpl
def register_referral_checks(register):
    register(MinimumOrder())
