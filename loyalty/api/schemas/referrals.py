"""Referrals: attributing a friend to a member's code, and a member's referrals."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.api.schemas import Choice, PageArgs, text
from loyalty.models import REFERRAL_STATUSES


class FriendSchema(Schema):
    external_id = text(
        max_length=255,
        required=True,
        metadata={"description": "The friend's customer id in the store (they need not be a member yet)."},
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))


class AttributionSchema(Schema):
    code = text(max_length=32, required=True, metadata={"description": "The referrer's code, any case."})
    friend = fields.Nested(FriendSchema, required=True)
    ip = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9A-Fa-f:.]{2,45}$"),
        metadata={"description": "The friend's IP address as the store saw it (velocity checks)."},
    )


class ReferralSchema(Schema):
    id = fields.Integer(required=True)
    referrer = fields.String(required=True, metadata={"description": "The referrer's external id."})
    code = fields.String(required=True)
    via = fields.String(
        required=True,
        metadata={
            "description": "How the code came: api, discount_code, note_attribute, landing_site, meta_data, metadata, "
            "referral_code."
        },
    )
    friend = fields.Nested(FriendSchema, required=True)
    status = Choice(
        "ReferralStatus",
        REFERRAL_STATUSES,
        required=True,
        metadata={
            "description": "pending (waiting for the friend's order), flagged (waiting for a person), converted "
            "(qualifying order in, review period running), rewarded, rejected, cancelled (order "
            "refunded or cancelled during the review period)."
        },
    )
    reason = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Why it was rejected, flagged, cancelled or rewarded in part."},
    )
    order_id = fields.String(allow_none=True, required=True, metadata={"description": "The qualifying order."})
    referrer_points = fields.Integer(required=True)
    friend_points = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    converted_at = fields.AwareDateTime(allow_none=True, required=True)
    review_until = fields.AwareDateTime(
        allow_none=True, required=True, metadata={"description": "Rewarded after this unless the order is refunded."}
    )
    rewarded_at = fields.AwareDateTime(allow_none=True, required=True)


class ReferralPageArgs(PageArgs):
    status = Choice("ReferralStatus", REFERRAL_STATUSES, metadata={"description": "Only referrals in this status."})


class ReferralPageSchema(Schema):
    data = fields.List(fields.Nested(ReferralSchema), required=True)
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next (older) page; null at the end."},
    )
