"""Keeping the outbox small: events and finished deliveries are deleted after ``MESSAGES_RETENTION_DAYS``.

Every posting records an event, so the outbox grows as fast as the
ledger; unlike the ledger, it is a queue, not a record the books rely on.
What is finished (delivered, failed, skipped) and older than the retention
(30 days by default) goes, and then the events no delivery points to any
more. A delivery still waiting (a disabled destination's) keeps its event.
A failed delivery can be replayed until it is deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from loyalty.models import Delivery, OutboxEvent

#: The default retention, in days.
RETENTION_DAYS = 30
FINISHED = ("delivered", "failed", "skipped")
#: Rows deleted per statement: a long backlog is pruned in short transactions.
BATCH = 5000


def prune(session: Session, *, now: datetime, days: int = RETENTION_DAYS) -> dict:
    """Delete finished deliveries and dispatched events older than ``days``; commits each batch. The counts."""
    cutoff = now - timedelta(days=days)
    counts = {"deliveries": 0, "events": 0}
    while ids := list(
        session.scalars(
            select(Delivery.id).where(Delivery.status.in_(FINISHED), Delivery.created_at < cutoff).limit(BATCH)
        )
    ):
        session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
        session.commit()
        counts["deliveries"] += len(ids)
    while ids := list(
        session.scalars(
            select(OutboxEvent.id)
            .where(
                OutboxEvent.dispatched_at.is_not(None),
                OutboxEvent.dispatched_at < cutoff,
                ~exists().where(Delivery.event_id == OutboxEvent.id),
            )
            .limit(BATCH)
        )
    ):
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
        session.commit()
        counts["events"] += len(ids)
    return counts
