"""Members: enrolment, the member as the API shows them, adjustments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates

from loyalty.api.schemas import Choice, DecimalString, JsonBoolean, Moment, WholeNumber, text
from loyalty.ledger import MAX_AMOUNT
from loyalty.models.ledger import ENTRY_KINDS
from loyalty.models.member import MEMBER_STATUSES


class EnrolSchema(Schema):
    external_id = text(
        max_length=255,
        required=True,
        metadata={"description": "The store's customer id: members are found by it, enrolment is idempotent on it."},
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    name = text(max_length=255, blank=True, load_default=None, allow_none=True)
    birthday = fields.Date(load_default=None, allow_none=True)


class TierSchema(Schema):
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    earn_multiplier = DecimalString(required=True)
    perks = fields.String(allow_none=True, required=True)


class BalancesSchema(Schema):
    available = fields.Integer(required=True, metadata={"description": "Points the member can spend now."})
    pending = fields.Integer(
        required=True, metadata={"description": "Points earned, held until the return window ends."}
    )
    lifetime_earned = fields.Integer(
        required=True,
        metadata={"description": "Points ever earned, less what refunds took back; spending never lowers it."},
    )


class NextTierSchema(Schema):
    name = fields.String(required=True)
    threshold = DecimalString(required=True)
    remaining = DecimalString(required=True, metadata={"description": "What is left to reach it."})


class KeepTierSchema(Schema):
    threshold = DecimalString(required=True, metadata={"description": "The value that keeps the current tier."})
    by = fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "When the window resets (calendar year); null for a rolling window."},
    )
    held_by_manual_tier_until = fields.AwareDateTime(allow_none=True, required=True)


class TierProgressSchema(Schema):
    scheme = fields.String(required=True)
    metric = fields.String(required=True, metadata={"description": "points, amount or orders."})
    value = DecimalString(required=True, metadata={"description": "The member's value now."})
    next_tier = fields.Nested(NextTierSchema, allow_none=True, required=True)
    keep = fields.Nested(
        KeepTierSchema,
        allow_none=True,
        required=True,
        metadata={"description": "What keeps the current tier; null if nothing can take it away."},
    )


class MemberSchema(Schema):
    external_id = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)
    birthday = fields.Date(allow_none=True, required=True)
    status = Choice(
        "MemberStatus", MEMBER_STATUSES, required=True, metadata={"description": "active, suspended or closed."}
    )
    enrolled_at = fields.AwareDateTime(required=True)
    tier = fields.Nested(TierSchema, allow_none=True, required=True)
    tier_progress = fields.Nested(
        TierProgressSchema,
        allow_none=True,
        required=True,
        metadata={"description": "null when the program gives tiers by hand."},
    )
    balances = fields.Nested(BalancesSchema, required=True)
    referral_code = fields.String(required=True, metadata={"description": "The code the member shares with friends."})
    referral_link = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "The share link (null until the program sets a link pattern)."},
    )
    subscribed = fields.Boolean(
        required=True,
        metadata={
            "description": "Whether the member gets e-mails and other messages from the program; false once they "
            "opted out (the unsubscribe link in every e-mail, the widget, or this API)."
        },
    )


class MemberUpdateSchema(Schema):
    subscribed = JsonBoolean(
        required=True,
        metadata={
            "description": "false: the member opts out of messages (the store's own unsubscribe page); true: in again."
        },
    )


class AdjustmentSchema(Schema):
    points = WholeNumber(
        required=True,
        validate=validate.Range(min=-MAX_AMOUNT, max=MAX_AMOUNT),
        metadata={"description": "Points to credit (positive) or debit (negative); never zero.", "not": {"enum": [0]}},
    )
    reason = text(
        max_length=500, required=True, metadata={"description": "Why: kept on the ledger entry for auditors."}
    )
    expires_at = Moment(
        load_default=None,
        allow_none=True,
        metadata={"description": "When credited points expire: credits only, and in the future."},
    )

    @validates("points")
    def _not_zero(self, value, **_):
        if value == 0:
            raise validate.ValidationError("must not be zero")


class PostingSchema(Schema):
    entry_id = fields.Integer(required=True)
    kind = Choice("EntryKind", ENTRY_KINDS, required=True)
    points = fields.Integer(required=True, metadata={"description": "Points moved (debits negative)."})
    shortfall = fields.Integer(required=True)
    balances = fields.Nested(BalancesSchema, required=True)
