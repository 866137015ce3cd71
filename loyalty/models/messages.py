"""The transactional outbox and what leaves the platform from it: destinations and deliveries.

An :class:`OutboxEvent` is written in the transaction of the change it
tells of (a posting, an enrolment, a tier change…), so it exists exactly
when that change committed. Fanning it out (:mod:`loyalty.messages.dispatch`)
makes one :class:`Delivery` per :class:`Destination` that wants it (an
outbound webhook endpoint, the program's e-mail sender, a plugin's channel);
sending (:mod:`loyalty.messages.sending`) works through the deliveries,
with retries, outside any posting's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a sender until ``lease_until``),
#: ``delivered``, ``failed`` (dead-lettered after its last attempt; replay makes it pending again),
#: ``skipped`` (nothing to send: the member opted out, has no e-mail, or it was merged into another).
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed", "skipped")

#: ``active``; ``disabled`` by a person, or by the platform after failing for days (``disabled_reason`` says).
DESTINATION_STATUSES = ("active", "disabled")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class OutboxEvent(db.Model):
    """Something that happened to a member or a program, recorded with the change itself.

    ``data`` is what the event type carries (points, tier, reward…) as it was
    at the change; ``payload`` is the whole message the world receives, built
    once when the event is fanned out (``dispatched_at``) so every destination
    and every retry gets the same bytes.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("uid"),
        # Events that happen once per thing (``points.expiring`` per member and expiry date).
        UniqueConstraint("program_id", "dedupe_key"),
        Index("ix_outbox_events_undispatched", "dispatched_at", "id"),
        Index("ix_outbox_events_program", "program_id", "id"),
        Index("ix_outbox_events_member", "member_id", "type", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The id the world sees (the payload's ``id``, the ``webhook-id`` header): ``evt_`` and 26 characters.
    uid: Mapped[str] = mapped_column(String(40))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    type: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<OutboxEvent {self.uid} {self.type}>"


class Destination(db.Model):
    """Where a program's events go: one configured instance of a notification channel.

    ``channel`` names a registered channel type (``webhook``, ``email`` or a
    plugin's); ``config`` is what that channel's schema accepted (a webhook's
    URL and signing secret, the e-mail sender's from-address). ``events`` is
    the list of event types it wants, or ``["*"]`` for all of them.
    """

    __tablename__ = "destinations"
    __table_args__ = (
        CheckConstraint(_in("status", DESTINATION_STATUSES), name="status"),
        Index("ix_destinations_program", "program_id", "channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    channel: Mapped[str] = mapped_column(String(64))
    #: What a person calls it in the admin and the CLI (a webhook's URL by default).
    name: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=lambda: ["*"])
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    #: Since when every attempt failed (reset by a success): what disables it after days.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events

    def __repr__(self) -> str:
        return f"<Destination {self.id} {self.channel} {self.name}>"


class Delivery(db.Model):
    """One event (or, for a digest, several) on its way to one destination, and how that went.

    ``event_ids`` lists every event the delivery carries: one, or for a
    channel that sums (e-mail's "points earned", at most one an hour) the
    ones gathered before it was sent; ``event_id`` is the first.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # Fanning out twice (a crash, two senders) never makes a second delivery.
        UniqueConstraint("event_id", "destination_id"),
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_destination", "destination_id", "id"),
        Index("ix_deliveries_digest", "destination_id", "member_id", "event_type", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    destination_id: Mapped[int] = mapped_column(BigId, ForeignKey("destinations.id"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox_events.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("members.id"))
    event_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The receiver's HTTP status (webhooks), the SMTP reply code (e-mail); none for a timeout.
    response_code: Mapped[int | None] = mapped_column()
    #: What went wrong on the last attempt, or why it was skipped, in words.
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Delivery {self.id} {self.event_type} → {self.destination_id} {self.status}>"


class MessageTemplate(db.Model):
    """A program's own wording for one kind of message to members (an e-mail's subject, text and HTML).

    Only what the program changed is stored; the channel's defaults fill the rest.
    """

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("program_id", "channel", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    channel: Mapped[str] = mapped_column(String(64))
    #: The event type the wording is for: ``member.enrolled`` (welcome), ``points.earned``, ``points.expiring``,
    #: ``tier.changed`` (tier reached), ``reward.redeemed`` (reward issued), ``referral.completed``.
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
