"""Not a new customer: the friend had bought before they were referred."""

from __future__ import annotations

from loyalty.plugin_api import ReferralCheck, hookimpl


class ExistingCustomer(ReferralCheck):
    name = "existing_customer"
    title = "Not a new customer"
    description = "The friend had paid orders before the referral: referrals bring new customers."
    default_action = "reject"

    def check(self, referral, settings):
        before = referral.friend_orders_before()
        if before:
            return f"the friend had {before} paid order{'s' if before > 1 else ''} before the referral"
        return None


@hookimpl
def register_referral_checks(register):
    register(ExistingCustomer())
