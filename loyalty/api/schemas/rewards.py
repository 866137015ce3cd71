"""The reward catalog, redemptions, and code lookups."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.api.schemas import Choice, DecimalString, PageArgs, WholeNumber
from loyalty.ledger import MAX_AMOUNT
from loyalty.models.reward import PRICINGS, REDEMPTION_STATUSES


class RewardListArgs(Schema):
    member = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "A member's external id: each reward then says whether this member can have it now."},
    )


class RewardSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    type = fields.String(required=True, metadata={"description": "The reward type (a plugin)."})
    summary = fields.String(required=True, metadata={"description": 'What it gives, e.g. "5.00 USD off".'})
    pricing = Choice(
        "Pricing", PRICINGS, required=True, metadata={"description": "fixed, or variable (points in steps)."}
    )
    points = fields.Integer(required=True, metadata={"description": "The cost; for variable pricing, per step."})
    step_value = DecimalString(
        allow_none=True, required=True, metadata={"description": "Variable: the money one step is worth."}
    )
    min_points = fields.Integer(allow_none=True, required=True)
    max_points = fields.Integer(allow_none=True, required=True)
    starts_at = fields.AwareDateTime(allow_none=True, required=True)
    ends_at = fields.AwareDateTime(allow_none=True, required=True)
    min_tier = fields.String(allow_none=True, required=True)
    stock_left = fields.Integer(allow_none=True, required=True, metadata={"description": "null: no limit."})
    limit_per_member = fields.Integer(allow_none=True, required=True)
    available = fields.Boolean(
        required=True, metadata={"description": "Can be redeemed now (by the member given, if any)."}
    )
    unavailable_reason = fields.String(allow_none=True, required=True)


class RedeemSchema(Schema):
    reward_id = WholeNumber(required=True, validate=validate.Range(min=1, max=2**62))
    points = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_AMOUNT),
        metadata={"description": "Variable rewards: the points to spend (a multiple of the step)."},
    )


class RedemptionSchema(Schema):
    id = fields.Integer(required=True)
    reward_id = fields.Integer(required=True)
    reward = fields.String(required=True, metadata={"description": "The reward's name."})
    status = Choice(
        "RedemptionStatus",
        REDEMPTION_STATUSES,
        required=True,
        metadata={
            "description": "issued, used (an order carried its code), cancelled (points returned), failed (nothing "
            "spent; see reason)."
        },
    )
    points = fields.Integer(required=True, metadata={"description": "Points spent (0 for a gift or a failure)."})
    value = DecimalString(allow_none=True, required=True)
    currency = fields.String(required=True)
    code = fields.String(
        allow_none=True, required=True, metadata={"description": "What the member enters at checkout."}
    )
    details = fields.Dict(required=True, metadata={"description": "What the reward type recorded (kind, amount, ids)."})
    reason = fields.String(allow_none=True, required=True, metadata={"description": "Why it failed."})
    expires_at = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    used_at = fields.AwareDateTime(allow_none=True, required=True)
    cancelled_at = fields.AwareDateTime(allow_none=True, required=True)


class RedemptionPageArgs(PageArgs):
    status = Choice(
        "RedemptionStatus", REDEMPTION_STATUSES, metadata={"description": "Only redemptions in this status."}
    )


class RedemptionPageSchema(Schema):
    data = fields.List(fields.Nested(RedemptionSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CodeSchema(RedemptionSchema):
    member = fields.String(required=True, metadata={"description": "The external id of the member it was issued to."})
    valid = fields.Boolean(required=True, metadata={"description": "Issued, unused and not expired: honour it."})
