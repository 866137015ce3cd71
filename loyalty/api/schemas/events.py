"""Custom events: something a member did that custom-event rules reward."""

from __future__ import annotations

from marshmallow import Schema, fields

from loyalty.api.schemas import Moment, text
from loyalty.api.schemas.members import EnrolSchema


class CustomEventSchema(Schema):
    event_id = text(
        max_length=200, required=True, metadata={"description": "Your id for the event: the same id is processed once."}
    )
    name = text(
        max_length=100,
        required=True,
        metadata={"description": "What happened, e.g. review_written (custom-event rules match it)."},
    )
    member = fields.Nested(
        EnrolSchema, required=True, metadata={"description": "Who did it; enrolled if not a member yet."}
    )
    properties = fields.Dict(keys=fields.String(), load_default=dict)
    occurred_at = Moment(
        load_default=None, allow_none=True, metadata={"description": "When it happened (default: now)."}
    )


class EventResultSchema(Schema):
    status = fields.String(
        required=True, metadata={"description": "processed, or duplicate for an event id seen before."}
    )
    points = fields.Integer(required=True, metadata={"description": "Points this request newly awarded."})
    entry_ids = fields.List(fields.Integer(), required=True)
