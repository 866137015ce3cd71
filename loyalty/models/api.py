"""API keys and the responses kept for ``Idempotency-Key`` replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

API_SCOPES = ("read", "write")


class ApiKey(db.Model):
    """A program's key for the REST API.

    The key is shown once, when created; only its SHA-256 is kept (a key is
    32 random bytes, so a fast hash is enough: there is nothing to guess).
    ``prefix`` is the visible part (``lk_3f9a1c2e``) that finds the row and
    lets people tell their keys apart.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    #: Space-separated: ``read``, ``read write``.
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: The key's program: what an API request works in (loaded with the key when a request presents it).
    program = relationship("Program")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiIdempotentRequest(db.Model):
    """A write made with an ``Idempotency-Key``: what was asked, and what was answered.

    Stored in the same transaction as the write, so a repeat with the same
    key and body gets the first answer back, and one with another body a
    409, for as long as the row is kept.
    """

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (UniqueConstraint("program_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the method, path and body.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
