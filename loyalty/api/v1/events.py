"""``/events``: custom events (a review written, a social follow) that custom-event rules reward."""

from __future__ import annotations

from flask import g

from loyalty.api.errors import ErrorSchema
from loyalty.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from loyalty.api.idempotency import idempotent
from loyalty.api.resources import resource
from loyalty.api.schemas.events import CustomEventSchema, EventResultSchema
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.events import Customer, CustomEvent
from loyalty.earning.pipeline import process
from loyalty.registry import current_registry

blp = resource("events", __name__, "Custom events that earning rules turn into points.")


@blp.route("/events", methods=["POST"])
@idempotent(required=False)
@blp.arguments(CustomEventSchema)
@blp.doc(operationId="createEvent", parameters=[IDEMPOTENCY_KEY])
@blp.response(201, EventResultSchema, description="Processed now.")
@blp.alt_response(200, schema=EventResultSchema, description="This event id was processed before: nothing new.")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="The member is not active, the key was used for another request, "
    "or the event id was recorded for another member or name.",
)
def post_event(data):
    """Record a custom event for a member (enrolled first if new); each event id counts once."""
    person = data["member"]
    outcome = process(
        db.session,
        g.program,
        CustomEvent(
            event_id=data["event_id"],
            name=data["name"],
            properties=data["properties"],
            occurred_at=data["occurred_at"],
            customer=Customer(person["external_id"].strip(), person["email"], person["name"], person["birthday"]),
        ),
        clock=current_clock(),
        registry=current_registry(),
    )
    result = {
        "status": outcome.status,
        "points": outcome.points,
        "entry_ids": [posting.entry_id for _, posting in outcome.awards],
    }
    return result, 200 if outcome.status == "duplicate" else 201
