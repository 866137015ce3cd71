"""Self-referral: the friend is the referrer under another name.

Same customer id; the same e-mail once normalized (case; ``+tags``;
dots and ``googlemail.com`` for Gmail, which ignores them); or the
friend's order ships to an address the referrer's orders shipped to.
"""

from __future__ import annotations

from loyalty.plugin_api import ReferralCheck, hookimpl

#: Providers that deliver ``j.o.e@`` to ``joe@``.
DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_email(email: str | None) -> str | None:
    """One spelling per mailbox: ``Jane.Doe+shop@googlemail.com`` -> ``janedoe@gmail.com``."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS:
        local, domain = local.replace(".", ""), DOTLESS[domain]
    return f"{local}@{domain}" if local else None


class SelfReferral(ReferralCheck):
    name = "self_referral"
    title = "Self-referral"
    description = (
        "The friend is the referrer: same customer, same e-mail (Gmail dots and +tags ignored), same shipping address."
    )
    default_action = "reject"

    def check(self, referral, settings):
        if referral.friend.external_id == referral.referrer.external_id:
            return "the friend is the referrer"
        friend_email = canonical_email(referral.friend.email)
        if friend_email and friend_email == canonical_email(referral.referrer.email):
            return "the friend's e-mail is the referrer's"
        if (
            referral.order is not None
            and referral.order.shipping_key
            and referral.order.shipping_key in referral.referrer_shipping_keys()
        ):
            return "the order ships to an address the referrer's orders shipped to"
        return None


@hookimpl
def register_referral_checks(register):
    register(SelfReferral())
