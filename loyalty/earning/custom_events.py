"""A custom event's record: its id counts once, whatever the rules say.

The pipeline records a custom event's id (:class:`~loyalty.models.CustomEventRecord`)
before any rule runs, whether or not the event earns, so a repeat after a
matching rule was added still earns nothing. Two deliveries of one id at
once meet at the record's unique key (the second waits for the first to
commit, then finds the record). A repeat naming another member or another
event name is refused (:class:`~loyalty.errors.EventIdConflict`): it is a
sender's mistake, and answering "duplicate" would hide it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.earning.events import CustomEvent
from loyalty.models import CustomEventRecord, Member, Program

#: Record a custom event id unless it is recorded already: its new row id, or nothing.
RECORD_EVENT = {
    name: dialect.insert(CustomEventRecord.__table__)
    .on_conflict_do_nothing(index_elements=["program_id", "event_id"])
    .returning(CustomEventRecord.__table__.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def record(
    session: Session, program: Program, event: CustomEvent, member: Member, occurred: datetime, now: datetime
) -> int | None:
    """Record the event's id for the member: the record's id, or ``None`` if a concurrent delivery recorded it first."""
    return session.execute(
        RECORD_EVENT[session.get_bind().dialect.name],
        {
            "program_id": program.id,
            "event_id": event.event_id,
            "member_id": member.id,
            "name": event.name,
            "occurred_at": occurred,
            "received_at": now,
            "points": 0,
        },
    ).scalar()


def recorded(session: Session, program: Program, event_id: str) -> CustomEventRecord | None:
    """The record of ``event_id``, read again (a concurrent delivery may have just committed it)."""
    return session.scalar(
        select(CustomEventRecord)
        .where(CustomEventRecord.program_id == program.id, CustomEventRecord.event_id == event_id)
        .execution_options(populate_existing=True)
    )


def repeated(session: Session, event: CustomEvent, seen: CustomEventRecord) -> Member:
    """A repeat of a recorded event id: its member if it is the same event, refused if not."""
    member = session.get(Member, seen.member_id)
    if member.external_id != (event.customer.external_id or "").strip() or seen.name != event.name:
        raise errors.EventIdConflict(
            f"event id {event.event_id!r} was already recorded as {seen.name!r} for member "
            f"{member.external_id!r}; an event id names one event"
        )
    return member
