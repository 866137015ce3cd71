"""A referral check: friends with a throwaway e-mail address (mailinator.com, ...) are flagged for a person.

A complete referral check plugin: settings (extending the platform's
:class:`ReferralCheckSchema`, which brings ``enabled`` and ``action``),
a ``default_action`` and ``check``, which returns a reason to stop the
referral or ``None``. The program's ``action`` decides whether the reason
rejects the referral or flags it; every installed check runs unless the
program switches it off.
"""

from marshmallow import fields

from loyalty.plugin_api import ReferralCheck, ReferralCheckSchema, hookimpl

THROWAWAY = ["mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com"]


class BlockedDomainsSchema(ReferralCheckSchema):
    domains = fields.List(
        fields.String(),
        load_default=lambda: list(THROWAWAY),
        metadata={"description": "E-mail domains whose friends are stopped."},
    )


class BlockedDomains(ReferralCheck):
    name = "blocked_domains"
    title = "Throwaway e-mail address"
    description = "The friend's e-mail address is at a domain the program does not trust (throwaway addresses)."
    schema = BlockedDomainsSchema
    default_action = "flag"

    def check(self, referral, settings):
        email = (referral.friend.email or "").strip().lower()
        domain = email.rpartition("@")[2]
        if domain and domain in {d.lower() for d in settings["domains"]}:
            return f"the friend's e-mail address is at {domain}"
        return None


@hookimpl
def register_referral_checks(register):
    register(BlockedDomains())
