"""A member's transaction history, page by page."""

from __future__ import annotations

from marshmallow import Schema, fields

from loyalty.api.schemas import Choice, PageArgs
from loyalty.models.ledger import ENTRY_KINDS


class TransactionPageArgs(PageArgs):
    pass


class TransactionSchema(Schema):
    id = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    kind = Choice(
        "EntryKind",
        ENTRY_KINDS,
        required=True,
        metadata={"description": "earn, release, redeem, expire, adjust or reverse."},
    )
    available = fields.Integer(required=True, metadata={"description": "Change to the available balance."})
    pending = fields.Integer(required=True, metadata={"description": "Change to the pending balance."})
    shortfall = fields.Integer(required=True, metadata={"description": "Points a claw-back could not take back."})
    reason = fields.String(allow_none=True, required=True)
    actor = fields.String(allow_none=True, required=True)
    reverses_id = fields.Integer(allow_none=True, required=True)


class TransactionPageSchema(Schema):
    data = fields.List(fields.Nested(TransactionSchema), required=True)
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next (older) page; null at the end."},
    )
