"""An event as the world receives it: ``{"id", "type", "created_at", "program", "data": {"member", …}}``."""

from __future__ import annotations

from loyalty.models import Member, OutboxEvent, Program


def member_part(member: Member | None) -> dict | None:
    """``data.member``: who the event is about, as the store knows them."""
    if member is None:
        return None
    return {"external_id": member.external_id, "email": member.email, "name": member.name}


def build(event: OutboxEvent, program: Program, member: Member | None) -> dict:
    """The payload, built once when the event is fanned out (every destination and retry gets these bytes)."""
    data = dict(event.data or {})
    if event.member_id is not None:
        data = {"member": member_part(member), **data}
    return {
        "id": event.uid,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "program": program.slug,
        "data": data,
    }
