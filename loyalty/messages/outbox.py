"""Recording events: one INSERT in the caller's transaction, so an event exists exactly when its change does.

The caller owns the transaction, as with the ledger: if it rolls back, the
event was never written; once it commits, the event waits in
``outbox_events`` until a sender fans it out, however long the senders are
away (a crash between the commit and the sending loses nothing).

Nothing here talks to the outside world or looks at destinations: recording
costs one insert (``record_many``: one executemany for a batch or a sweep),
whether or not anybody listens.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loyalty.messages.catalog import EVENT_TYPES
from loyalty.models import OutboxEvent

events = OutboxEvent.__table__

INSERT = insert(events)
#: An event that happens once per thing (its ``dedupe_key``) and may be recorded twice (a job run twice).
INSERT_ONCE = {
    name: dialect.insert(events).on_conflict_do_nothing(index_elements=["program_id", "dedupe_key"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def new_uid() -> str:
    """The id receivers see (the payload's ``id``, the ``webhook-id`` header): unguessable, unique."""
    return "evt_" + secrets.token_hex(13)


def row(
    program_id: int,
    type: str,
    *,
    at: datetime,
    member_id: int | None = None,
    data: dict | None = None,
    dedupe_key: str | None = None,
) -> dict:
    """One event's row, for :func:`record_many`. ``data`` must be JSON: plain numbers, strings, ISO dates."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    return {
        "uid": new_uid(),
        "program_id": program_id,
        "type": type,
        "member_id": member_id,
        "data": data or {},
        "dedupe_key": dedupe_key,
        "created_at": at,
        "dispatched_at": None,
        "payload": None,
    }


def record(
    session: Session,
    program_id: int,
    type: str,
    *,
    at: datetime,
    member_id: int | None = None,
    data: dict | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Record one event in the session's transaction (nothing is flushed or committed here)."""
    record_many(session, [row(program_id, type, at=at, member_id=member_id, data=data, dedupe_key=dedupe_key)])


def record_many(session: Session, rows: list[dict]) -> None:
    """Record many events in one executemany; an event whose ``dedupe_key`` is taken is left out."""
    write(session.connection(), rows)


def write(conn: Connection, rows: list[dict]) -> None:
    """:func:`record_many` on a connection: for the ledger, whose writes are Core statements on one."""
    if not rows:
        return
    once = [r for r in rows if r["dedupe_key"] is not None]
    plain = [r for r in rows if r["dedupe_key"] is None]
    if plain:
        conn.execute(INSERT, plain)
    if once:
        conn.execute(INSERT_ONCE[conn.dialect.name], once)
