"""Storefront connections and the webhook inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

DELIVERY_STATUSES = ("received", "processed", "ignored", "deferred", "failed")


class Storefront(db.Model):
    """A store connected to a program: which adapter reads its webhooks, and its signing secret.

    The secret is needed in clear to check HMAC signatures, so it is stored
    as given; it is never logged and only ever shown masked.
    """

    __tablename__ = "storefronts"
    __table_args__ = (UniqueConstraint("program_id", "type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    #: The adapter's name: ``shopify``, ``woocommerce``, ``stripe``, ``standard_webhooks``…
    type: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(500))
    #: The store's API key, for rewards that call the store (Stripe's secret key ``sk_…`` for promotion codes).
    api_key: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def masked_secret(self) -> str:
        return mask(self.secret)

    @property
    def masked_api_key(self) -> str | None:
        return mask(self.api_key) if self.api_key else None


def mask(secret: str) -> str:
    """``whsec_…A1b2``: enough to tell two secrets apart, never enough to use one."""
    if len(secret) <= 8:
        return "…"
    return f"{secret[:6] if secret.startswith('whsec_') else secret[:2]}…{secret[-4:]}"


class WebhookDelivery(db.Model):
    """One delivery from a storefront, stored (and committed) before it is processed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("program_id", "storefront_id", "delivery_key"),
        CheckConstraint("status IN ('received', 'processed', 'ignored', 'deferred', 'failed')", name="status"),
        Index("ix_webhook_deliveries_status", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_program", "program_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    storefront_id: Mapped[int] = mapped_column(ForeignKey("storefronts.id"))
    #: The storefront's id for the delivery (Shopify's webhook id, Stripe's event id…), whole.
    delivery_id: Mapped[str] = mapped_column(Text)
    #: SHA-256 (hex) of ``delivery_id``: what the inbox dedupes on. A hash of the whole id, because
    #: ids have no length limit a store promises, and two ids that share a prefix are two deliveries.
    delivery_key: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(100))
    #: The headers the adapter needs to parse the delivery again (never the signature).
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The raw body, byte for byte.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: What processing noticed about a delivery it did process (a refund capped at what the order had left).
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
