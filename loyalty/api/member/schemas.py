"""The member API's requests and answers, as marshmallow schemas (they also write its OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from loyalty.api.errors import ErrorSchema
from loyalty.api.schemas import Choice, DecimalString, JsonBoolean, PageArgs
from loyalty.api.schemas.rewards import RedeemSchema  # noqa: F401  (the same body as the store's API takes)
from loyalty.models.reward import PRICINGS, REDEMPTION_STATUSES

UNAVAILABLE_REASONS = ("not_enough_points", "paused", "not_started", "ended", "out_of_stock", "tier", "limit_reached")
ACTIVITY_KINDS = (
    "earned",
    "pending",
    "released",
    "redeemed",
    "expired",
    "refunded",
    "returned",
    "adjusted",
    "corrected",
)


class Balances(Schema):
    available = fields.Integer(required=True, metadata={"description": "Points that can be spent now."})
    pending = fields.Integer(required=True, metadata={"description": "Points waiting for the return window."})
    lifetime_earned = fields.Integer(required=True)


class MemberTier(Schema):
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    perks = fields.String(allow_none=True, required=True)
    earn_multiplier = DecimalString(required=True)


class NextTier(Schema):
    name = fields.String(required=True)
    threshold = DecimalString(required=True)
    remaining = DecimalString(required=True, metadata={"description": "What is left to reach it."})


class KeepTier(Schema):
    threshold = DecimalString(required=True, metadata={"description": "What keeps the current tier."})
    by = fields.AwareDateTime(allow_none=True, required=True, metadata={"description": "By when."})
    held_by_manual_tier_until = fields.AwareDateTime(allow_none=True, required=True)


class TierProgress(Schema):
    metric = fields.String(required=True, metadata={"description": "What the tier scheme counts."})
    value = DecimalString(required=True)
    next_tier = fields.Nested(NextTier, allow_none=True, required=True)
    keep = fields.Nested(KeepTier, allow_none=True, required=True)


class Referral(Schema):
    code = fields.String(required=True)
    link = fields.String(allow_none=True, required=True)


class Expiry(Schema):
    points = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)


class MeSchema(Schema):
    external_id = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    enrolled_at = fields.AwareDateTime(required=True)
    joined_now = fields.Boolean(required=True, metadata={"description": "This request enrolled the member."})
    balances = fields.Nested(Balances, required=True)
    tier = fields.Nested(MemberTier, allow_none=True, required=True)
    tier_progress = fields.Nested(TierProgress, allow_none=True, required=True)
    referral = fields.Nested(Referral, required=True)
    next_expiry = fields.Nested(Expiry, allow_none=True, required=True)
    subscribed = fields.Boolean(
        required=True, metadata={"description": "Whether the member gets the program's e-mails (false: opted out)."}
    )


class Subscription(Schema):
    subscribed = JsonBoolean(
        required=True, metadata={"description": "false: no more e-mails from the program; true: e-mails again."}
    )


class ActivityArgs(PageArgs):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class ActivityLine(Schema):
    id = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    kind = Choice("ActivityKind", ACTIVITY_KINDS, required=True)
    title = fields.String(required=True, metadata={"description": "In the member's words: 'Order #1001'."})
    points = fields.Integer(required=True, metadata={"description": "The change to the available points."})
    pending = fields.Integer(required=True, metadata={"description": "The change to the pending points."})


class ActivityPage(Schema):
    data = fields.List(fields.Nested(ActivityLine), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class MemberReward(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    summary = fields.String(required=True, metadata={"description": "What it gives, e.g. '5.00 USD off'."})
    pricing = Choice("Pricing", PRICINGS, required=True)
    points = fields.Integer(required=True, metadata={"description": "The cost; in steps of this, for 'variable'."})
    step_value = DecimalString(allow_none=True, required=True)
    min_points = fields.Integer(allow_none=True, required=True)
    max_points = fields.Integer(allow_none=True, required=True)
    min_tier = fields.String(allow_none=True, required=True)
    stock_left = fields.Integer(allow_none=True, required=True)
    ends_at = fields.AwareDateTime(allow_none=True, required=True)
    limit_per_member = fields.Integer(allow_none=True, required=True)
    available = fields.Boolean(
        allow_none=True,
        required=True,
        metadata={"description": "This member can redeem it now (null in the program's catalog: no member)."},
    )
    unavailable_reason = Choice("UnavailableReason", UNAVAILABLE_REASONS, allow_none=True, required=True)
    points_needed = fields.Integer(
        allow_none=True, required=True, metadata={"description": "More points the member needs, if not enough."}
    )
    affordable = fields.Boolean(
        allow_none=True, required=True, metadata={"description": "The member has the points (null: no member)."}
    )
    tier_eligible = fields.Boolean(
        allow_none=True, required=True, metadata={"description": "The member's tier may have it (null: no member)."}
    )
    in_stock = fields.Boolean(required=True, metadata={"description": "Any left (always true without a stock)."})
    within_limit = fields.Boolean(
        allow_none=True,
        required=True,
        metadata={"description": "The member has not reached the per-member limit (null: no member)."},
    )


class RedeemRefusal(ErrorSchema):
    """A refused redemption (409): the error, and for ``reward_unavailable`` why the reward cannot be had."""

    reason = Choice(
        "UnavailableReason",
        UNAVAILABLE_REASONS,
        metadata={"description": "With `reward_unavailable`: why this member cannot have the reward now."},
    )


class MemberRedemption(Schema):
    id = fields.Integer(required=True)
    reward_id = fields.Integer(required=True)
    reward = fields.String(required=True)
    status = Choice("RedemptionStatus", REDEMPTION_STATUSES, required=True)
    points = fields.Integer(required=True)
    value = DecimalString(allow_none=True, required=True)
    currency = fields.String(required=True)
    code = fields.String(allow_none=True, required=True, metadata={"description": "What to enter at checkout."})
    expires_at = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    used_at = fields.AwareDateTime(allow_none=True, required=True)


class RedemptionPage(Schema):
    data = fields.List(fields.Nested(MemberRedemption), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ProgramInfo(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)


class WayToEarn(Schema):
    rule_id = fields.Integer(required=True)
    name = fields.String(required=True)
    event = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "'1 point for every USD 1 spent'."})


class ProgramTier(Schema):
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    threshold = DecimalString(required=True)
    perks = fields.String(allow_none=True, required=True)
    earn_multiplier = DecimalString(required=True)


class ReferralTerms(Schema):
    referrer_points = fields.Integer(required=True)
    friend_points = fields.Integer(required=True)
    friend_reward = fields.String(allow_none=True, required=True, metadata={"description": "A reward's name."})
    min_order = DecimalString(required=True)


class WidgetConfig(Schema):
    appearance = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    texts = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    sign_in_url = fields.String(allow_none=True, required=True)
    sign_up_url = fields.String(allow_none=True, required=True)
    joins = fields.String(required=True, metadata={"description": "widget: a token enrols; order: an order does."})


class ProgramSchema(Schema):
    program = fields.Nested(ProgramInfo, required=True)
    ways_to_earn = fields.List(fields.Nested(WayToEarn), required=True)
    tier_metric = fields.String(allow_none=True, required=True)
    tiers = fields.List(fields.Nested(ProgramTier), required=True)
    referrals = fields.Nested(ReferralTerms, allow_none=True, required=True)
    rewards = fields.List(fields.Nested(MemberReward), required=True)
    widget = fields.Nested(WidgetConfig, required=True)
