"""Too many referrals from one IP address, or by one referrer, in a period."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import fields, validate

from loyalty.plugin_api import ReferralCheck, ReferralCheckSchema, hookimpl


class VelocitySchema(ReferralCheckSchema):
    days = fields.Integer(
        strict=True,
        load_default=30,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "The period counted back from now."},
    )
    max_per_ip = fields.Integer(
        strict=True,
        load_default=3,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "Referrals whose friends share one IP (none: no limit)."},
    )
    max_per_referrer = fields.Integer(
        strict=True,
        load_default=10,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "Referrals of one referrer (none: no limit)."},
    )


class Velocity(ReferralCheck):
    name = "velocity"
    title = "Too many referrals"
    description = "More referrals than allowed from one IP address or by one referrer within a number of days."
    schema = VelocitySchema
    default_action = "flag"

    def check(self, referral, settings):
        since = referral.now - timedelta(days=settings["days"])
        limit = settings["max_per_ip"]
        if limit is not None and referral.referrals_from_ip(since) >= limit:
            return f"{limit} or more referrals from IP {referral.ip} in {settings['days']} days"
        limit = settings["max_per_referrer"]
        if limit is not None and referral.referrals_by_referrer(since) >= limit:
            return f"the referrer has {limit} or more referrals in {settings['days']} days"
        return None


@hookimpl
def register_referral_checks(register):
    register(Velocity())
