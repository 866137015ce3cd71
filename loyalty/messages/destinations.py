"""A program's destinations (outbound webhook endpoints, a plugin channel's) and their deliveries: the shared service.

``loyalty outbound …`` and the admin's Outbound page only parse, call these
and print; the rules live here. Every function takes the session and
leaves the transaction to the caller (nothing is committed here), and
raises :mod:`loyalty.errors` with a sentence for the person who asked
before it changes anything.

* **Adding** validates the config with the channel's schema (which may make
  a secret: a webhook's ``whsec_…``), then asks the channel what the schema
  cannot know (:meth:`NotificationChannel.refuses`: a URL resolving to a
  private address); the event types are checked against the catalog.
  Secrets are in the returned destination's config, to be shown once;
  :func:`masked` is what every later view shows.
* **Removing** deletes the destination *with its deliveries*: their history
  goes too (the events stay in the outbox). To stop sending but keep the
  history, :func:`disable` it.
* **Rotating** makes new secrets at once: the next attempt is signed with
  the new one, the old one signs nothing more.
* **Replaying** a finished delivery (delivered, failed or skipped) makes it
  due now with its attempts counted from zero; it keeps its event, so a
  webhook receiver sees the same ``webhook-id`` again.
* **A test event** (:func:`send_test`) is a sample event of the chosen type,
  ``"test": true`` in its data, delivered to that one destination only.
"""

from __future__ import annotations

from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.messages.catalog import EVENT_TYPES, check_event_types
from loyalty.messages.outbox import new_uid
from loyalty.messages.payloads import build
from loyalty.models import DELIVERY_STATUSES, Delivery, Destination, Member, OutboxEvent, Program

#: Who a test event is about: nobody real.
SAMPLE_MEMBER = {"external_id": "test-member", "email": "test-member@example.com", "name": "Test Member"}
#: Deliveries that may be replayed: finished ones (pending or sending ones are on their way already).
REPLAYABLE = ("delivered", "failed", "skipped")
MAX_NAME = 200


def _channel(registry, name: str):
    channel = registry.notification_channels.get(name)
    if channel is None:
        installed = ", ".join(sorted(registry.notification_channels)) or "none"
        raise errors.InvalidInput(
            f"no notification channel {name!r} is installed (installed: {installed})",
            fields={"channel": ["unknown channel"]},
        )
    return channel


def _config(channel, config, settings) -> dict:
    if not isinstance(config, dict):
        raise errors.InvalidInput("the config must be an object", fields={"config": ["must be an object"]})
    try:
        loaded = channel.schema().load(config)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"config": exc.messages}
        said = "; ".join(f"{field}: {' '.join(map(str, problems))}" for field, problems in messages.items())
        raise errors.InvalidInput(f"not a valid {channel.title} config: {said}", fields=messages) from None
    reason = channel.refuses(loaded, settings)
    if reason:
        raise errors.InvalidInput(reason, fields={"url" if "url" in loaded else "config": [reason]})
    return loaded


def _events(names) -> list[str]:
    if isinstance(names, str):
        names = names.split(",")
    try:
        return check_event_types(list(names or []))
    except ValueError as exc:
        raise errors.InvalidInput(str(exc), fields={"events": [str(exc)]}) from None


def _name(name, default: str) -> str:
    if name is None or not str(name).strip():
        return default
    name = " ".join(str(name).split())
    if len(name) > MAX_NAME or not name.isprintable():
        raise errors.InvalidInput(
            f"a name is at most {MAX_NAME} printable characters", fields={"name": [f"at most {MAX_NAME}"]}
        )
    return name


def mask(value) -> str:
    """A secret as the admin and the CLI show it after it was made: ``whsec_…a1b2``."""
    if not isinstance(value, str) or not value:
        return "none"
    prefix = value.split("_", 1)[0] + "_" if "_" in value[:10] else ""
    return f"{prefix}…{value[-4:]}" if len(value) > len(prefix) + 8 else "…"


def masked(destination: Destination, registry) -> dict:
    """The destination's config with its channel's secret fields masked."""
    channel = registry.notification_channels.get(destination.channel)
    secret = channel.secret_fields if channel is not None else ()
    return {key: mask(value) if key in secret else value for key, value in (destination.config or {}).items()}


def add(
    session: Session,
    program: Program,
    *,
    channel: str,
    config: dict,
    events,
    clock: Clock,
    registry,
    settings,
    name: str | None = None,
) -> Destination:
    """A new active destination of ``program``; its config (with any secret the schema made) is on it, unmasked."""
    kind = _channel(registry, channel)
    loaded = _config(kind, config, settings)
    wanted = _events(events)
    now = clock.now()
    destination = Destination(
        program_id=program.id,
        channel=kind.name,
        name=_name(name, str(loaded.get("url") or kind.title)),
        events=wanted,
        config=loaded,
        status="active",
        created_at=now,
        updated_at=now,
    )
    session.add(destination)
    session.flush()
    return destination


def get(session: Session, destination_id, *, program: Program | None = None) -> Destination:
    """The destination with this id (of ``program``, when given); :class:`UnknownDestination` otherwise."""
    destination = session.get(Destination, destination_id) if _is_id(destination_id) else None
    if destination is None or (program is not None and destination.program_id != program.id):
        where = f" in {program.slug}" if program is not None else ""
        raise errors.UnknownDestination(f"no destination {destination_id}{where}")
    return destination


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def find(session: Session, *, program: Program | None = None, channel: str | None = None) -> list[Destination]:
    """Destinations, oldest first: of one program, one channel, or all."""
    query = select(Destination).order_by(Destination.program_id, Destination.id)
    if program is not None:
        query = query.where(Destination.program_id == program.id)
    if channel is not None:
        query = query.where(Destination.channel == channel)
    return list(session.scalars(query))


def remove(session: Session, destination: Destination) -> int:
    """Delete the destination and its deliveries (their history too); how many deliveries went with it."""
    gone = session.execute(delete(Delivery).where(Delivery.destination_id == destination.id)).rowcount
    session.delete(destination)
    session.flush()
    return gone


def enable(session: Session, destination: Destination, *, clock: Clock) -> None:
    """Active again (after a person or the platform disabled it): its waiting deliveries go, failing days start over."""
    destination.status = "active"
    destination.disabled_reason = None
    destination.failing_since = None
    destination.updated_at = clock.now()


def disable(session: Session, destination: Destination, *, clock: Clock, by: str = "a person") -> None:
    """Nothing is sent to it, nor fanned out to it, until it is enabled; its deliveries so far are kept."""
    now = clock.now()
    destination.status = "disabled"
    destination.disabled_reason = f"Disabled by {by} on {now:%Y-%m-%d %H:%M} UTC."
    destination.updated_at = now


def rotate(session: Session, destination: Destination, *, clock: Clock, registry) -> dict:
    """New secrets, in force at once (the next attempt is signed with them); returned unmasked, to be shown once."""
    channel = _channel(registry, destination.channel)
    if not channel.secret_fields:
        raise errors.InvalidInput(f"a {channel.title} destination has no secret to rotate")
    kept = {k: v for k, v in (destination.config or {}).items() if k not in channel.secret_fields}
    try:
        fresh = channel.schema().load(kept)
    except ValidationError as exc:
        raise errors.InvalidInput(f"the stored config no longer loads: {exc.messages}") from None
    secrets = {field: fresh.get(field) for field in channel.secret_fields}
    if not all(secrets.values()):
        raise errors.InvalidInput(f"a {channel.title} destination's secrets are given, not made: change them instead")
    destination.config = {**destination.config, **secrets}
    destination.updated_at = clock.now()
    return secrets


def delivery_count(session: Session, destination: Destination) -> int:
    """How many deliveries a destination has (what removing it deletes)."""
    return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.destination_id == destination.id))


def get_delivery(session: Session, delivery_id, *, program: Program | None = None) -> Delivery:
    delivery = session.get(Delivery, delivery_id) if _is_id(delivery_id) else None
    if delivery is None or (program is not None and delivery.program_id != program.id):
        raise errors.UnknownMessageDelivery(f"no outbound delivery {delivery_id}")
    return delivery


def deliveries(
    session: Session,
    *,
    program: Program | None = None,
    destination: Destination | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[tuple[Delivery, OutboxEvent]]:
    """Deliveries with their (first) event, newest first."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise errors.InvalidInput(f"a delivery's status is one of {', '.join(DELIVERY_STATUSES)}")
    query = (
        select(Delivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .order_by(Delivery.id.desc())
        .limit(max(1, min(int(limit), 1000)))
    )
    if program is not None:
        query = query.where(Delivery.program_id == program.id)
    if destination is not None:
        query = query.where(Delivery.destination_id == destination.id)
    if status is not None:
        query = query.where(Delivery.status == status)
    return [(delivery, event) for delivery, event in session.execute(query)]


def replay(session: Session, delivery: Delivery, *, clock: Clock, registry) -> None:
    """Send a finished delivery again, now, attempts from zero, the same event (the same ``webhook-id``)."""
    if delivery.status not in REPLAYABLE:
        raise errors.Conflict(
            f"delivery {delivery.id} is {delivery.status} already: it goes (again) without a replay",
        )
    destination = session.get(Destination, delivery.destination_id)
    channel = registry.notification_channels.get(destination.channel)
    if channel is not None and channel.audience == "member" and delivery.member_id is not None:
        member = session.get(Member, delivery.member_id)
        if member is not None and member.unsubscribed_at is not None:
            raise errors.Conflict(f"delivery {delivery.id} is to a member who opted out of messages: not sent again")
    now = clock.now()
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.response_code = None
    delivery.last_error = None
    delivery.delivered_at = None


def send_test(session: Session, destination: Destination, event_type: str, *, clock: Clock) -> Delivery:
    """A sample event of ``event_type`` for this destination only (no other one gets it), due now."""
    if event_type not in EVENT_TYPES:
        raise errors.InvalidInput(
            f"unknown event type {event_type!r}; the types are: {', '.join(EVENT_TYPES)}",
            fields={"event_type": ["unknown event type"]},
        )
    if destination.status != "active":
        raise errors.Conflict("the destination is disabled: enable it before sending it a test event")
    now: datetime = clock.now()
    program = session.get(Program, destination.program_id)
    event = OutboxEvent(
        uid=new_uid(),
        program_id=program.id,
        type=event_type,
        member_id=None,
        data={"test": True},  # what tells a receiver it is not a real one
        created_at=now,
        dispatched_at=now,  # fanned out already: to this destination only
    )
    payload = build(event, program, None)
    payload["data"] = {"member": dict(SAMPLE_MEMBER), **payload["data"]}
    event.payload = payload
    session.add(event)
    session.flush()
    delivery = Delivery(
        program_id=program.id,
        destination_id=destination.id,
        event_id=event.id,
        event_type=event_type,
        member_id=None,
        event_ids=[event.id],
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery
