"""Orders, their refunds, custom events and earning rules: what the earning pipeline reads and writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

ORDER_STATUSES = ("open", "paid", "partially_refunded", "refunded", "cancelled")


class EarningRule(db.Model):
    """An instance of an earning rule type, configured for one program.

    ``type`` names a rule type contributed by a plugin; ``config`` is what
    that type's marshmallow schema accepted (stored as its JSON dump).
    """

    __tablename__ = "earning_rules"
    __table_args__ = (Index("ix_earning_rules_program_id", "program_id", "active"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(db.Model):
    """A store's order as the platform knows it. Money is in minor units of ``currency``."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        CheckConstraint("status IN ('open', 'paid', 'partially_refunded', 'refunded', 'cancelled')", name="status"),
        CheckConstraint("refunded_minor >= 0", name="refunded_non_negative"),
        Index("ix_orders_member_id", "member_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(BigId)
    #: The store's order id.
    external_id: Mapped[str] = mapped_column(String(255))
    #: Where it came from: ``shopify``, ``woocommerce``, ``api``, ``cli``…
    origin: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The normalized lines and discount codes, as received (amounts as strings).
    lines: Mapped[list] = mapped_column(JSON, default=list)
    discount_codes: Mapped[list] = mapped_column(JSON, default=list)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    #: A fingerprint of the normalized shipping address (self-referral checks compare it), not the address.
    shipping_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomEventRecord(db.Model):
    """A custom event, recorded once per event id whether or not it earned anything.

    Unique on ``(program_id, event_id)``: the row is inserted in the event's
    transaction, and a repeat (or a concurrent delivery of the same id) finds
    it and is a duplicate, so an event that earned nothing cannot earn later
    under a rule added since. ``occurred_at`` is also what ``count_awards``
    counts custom-event awards by.
    """

    __tablename__ = "custom_events"
    __table_args__ = (
        UniqueConstraint("program_id", "event_id"),
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        Index("ix_custom_events_member_id", "member_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    #: The sender's id for the event (at most 200 characters, never cut).
    event_id: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What it earned when it was processed (0: nothing matched).
    points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrderRefund(db.Model):
    """One refund of an order, kept so that the same refund never claws back twice."""

    __tablename__ = "order_refunds"
    __table_args__ = (
        UniqueConstraint("order_id", "external_id"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
