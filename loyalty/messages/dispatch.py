"""Fanning events out: one delivery per event and destination that wants it, made once.

A sender takes the oldest events not yet fanned out (on PostgreSQL ``FOR
UPDATE SKIP LOCKED``, so several senders share the work and never take
one event twice), builds each one's payload once, and makes the
deliveries in the same transaction as it marks the event dispatched: a
crash in between leaves both undone, and ``UNIQUE (event_id,
destination_id)`` holds whatever happens.

Who gets what is decided here, the same for every channel: the
destination's event types, the channel's own filter (``accepts``), its
templates (a channel of words sends only what it has words for), its
audience (a member's channel is skipped for a member who opted out) and
its digests (one delivery per member and window, gathering the events
until it leaves).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.messages.payloads import build
from loyalty.models import Delivery, Destination, Member, OutboxEvent, Program

#: Events fanned out per transaction.
BATCH = 500


def dispatch(session: Session, *, registry, settings: Mapping, now: datetime, limit: int = BATCH) -> int:
    """Fan out up to ``limit`` events; how many. The caller commits."""
    query = select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = list(session.scalars(query))
    if not events:
        return 0
    program_ids = {event.program_id for event in events}
    programs = {p.id: p for p in session.scalars(select(Program).where(Program.id.in_(program_ids)))}
    member_ids = {event.member_id for event in events if event.member_id is not None}
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(member_ids)))} if member_ids else {}
    destinations: dict[int, list[Destination]] = defaultdict(list)
    wanted = (
        select(Destination)
        .where(Destination.program_id.in_(program_ids), Destination.status == "active")
        .order_by(Destination.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Kept until this fan-out commits: a destination removed meanwhile waits for it (and then
        # deletes the deliveries made here) rather than leaving them pointing at nothing.
        wanted = wanted.with_for_update(read=True, key_share=True)
    for destination in session.scalars(wanted):
        destinations[destination.program_id].append(destination)
    channels = registry.notification_channels
    for event in events:
        member = members.get(event.member_id)
        event.payload = build(event, programs[event.program_id], member)
        event.dispatched_at = now
        for destination in destinations[event.program_id]:
            channel = channels.get(destination.channel)
            if channel is None or not _wanted(channel, destination, event):
                continue
            _deliver(session, channel, destination, event, member, settings, now)
    session.flush()
    return len(events)


def _wanted(channel, destination: Destination, event: OutboxEvent) -> bool:
    if not destination.wants(event.type):
        return False
    if channel.templates and event.type not in channel.templates:
        return False
    if channel.audience == "member" and event.member_id is None:
        return False
    return channel.accepts(event.payload)


def _deliver(session, channel, destination, event, member, settings, now) -> None:
    delivery = Delivery(
        program_id=event.program_id,
        destination_id=destination.id,
        event_id=event.id,
        event_type=event.type,
        member_id=event.member_id,
        event_ids=[event.id],
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    reason = channel.unavailable(settings)
    if reason is None and channel.audience == "member" and member is not None and member.unsubscribed_at is not None:
        reason = "the member opted out of messages"
    if reason is not None:
        delivery.status, delivery.last_error = "skipped", reason
        session.add(delivery)
        return
    window = channel.digests.get(event.type) if channel.audience == "member" else None
    if window is not None:
        waiting = session.scalar(
            select(Delivery).where(
                Delivery.destination_id == destination.id,
                Delivery.member_id == event.member_id,
                Delivery.event_type == event.type,
                Delivery.status == "pending",
                Delivery.attempts == 0,
            )
        )
        if waiting is not None:
            waiting.event_ids = [*waiting.event_ids, event.id]  # travels with the one already waiting
            return
        last = session.scalar(
            select(func.max(Delivery.delivered_at)).where(
                Delivery.destination_id == destination.id,
                Delivery.member_id == event.member_id,
                Delivery.event_type == event.type,
                Delivery.status == "delivered",
            )
        )
        if last is not None and last + window > now:
            delivery.next_attempt_at = last + window
    session.add(delivery)
