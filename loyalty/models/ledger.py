"""The ledger's tables: accounts, entries, transfers, lots.

The rules live in the database as well as in :mod:`loyalty.ledger`:

* every amount is a positive integer (CHECK);
* a transfer, a lot and an entry can only name accounts and members of
  their own program (composite foreign keys on ``(program_id, id)``; that a
  transfer belongs to an entry of its own program is checked by verify,
  to spare every posting one more index);
* an idempotency key is unique per program (UNIQUE);
* a lot's remainder stays within ``0..amount`` (CHECK).

Entries and transfers are append-only: nothing here is ever updated or
deleted. Two columns are caches, kept under the member's row lock by the
ledger service and checked by ``loyalty verify``: ``accounts.balance`` (on
member accounts only: system accounts would be hot rows, see DESIGN.md) and
``lots.remaining``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: Accounts every member has. ``pending`` holds points waiting for the return
#: window to pass; ``available`` holds points the member can spend.
MEMBER_ACCOUNT_KINDS = ("pending", "available")

#: Accounts every program has, where points come from and go to. Their
#: balances are never cached; they are sums over transfers.
SYSTEM_ACCOUNT_KINDS = ("issued", "redeemed", "expired", "adjustments")

#: What an entry did. Referral and other kinds join as their issues land.
ENTRY_KINDS = ("earn", "release", "redeem", "expire", "adjust", "reverse")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("program_id", "id"),
        UniqueConstraint("member_id", "kind"),
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        CheckConstraint(
            f"(member_id IS NULL AND {_in('kind', SYSTEM_ACCOUNT_KINDS)})"
            f" OR (member_id IS NOT NULL AND {_in('kind', MEMBER_ACCOUNT_KINDS)})",
            name="kind",
        ),
        Index(
            "uq_accounts_system_kind",
            "program_id",
            "kind",
            unique=True,
            postgresql_where=text("member_id IS NULL"),
            sqlite_where=text("member_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    #: Cached balance, maintained for member accounts only.
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Entry(db.Model):
    """One ledger operation: the unit of idempotency.

    An entry moves ``amount`` points through zero or more transfers; what it
    could not move under a ``cap_at_zero`` claw-back policy is its
    ``shortfall``, so ``amount = sum(transfers) + shortfall`` always.
    """

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("program_id", "idempotency_key"),
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("shortfall >= 0 AND shortfall <= amount", name="shortfall_range"),
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        Index("ix_entries_member_id", "member_id", "id"),
        # The admin's figures for a period read only that period's entries.
        Index("ix_entries_program_created", "program_id", "created_at"),
        # Partial: only reversals carry it, so other inserts skip this index.
        Index(
            "ix_entries_reverses_id",
            "reverses_id",
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    idempotency_key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the request that made the entry: a replay with the same key
    #: but other inputs is a conflict, not a silent no-op.
    request_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    #: Who or what asked: ``cli``, ``admin:pm@example.com``, ``job:expiry``…
    actor: Mapped[str | None] = mapped_column(String(255))
    #: What caused it: ``order``/``4711``, ``reward``/``12``…
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(255))
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(db.Model):
    """An immutable move of a positive number of points between two accounts."""

    __tablename__ = "transfers"
    __table_args__ = (
        ForeignKeyConstraint(["program_id", "from_account_id"], ["accounts.program_id", "accounts.id"]),
        ForeignKeyConstraint(["program_id", "to_account_id"], ["accounts.program_id", "accounts.id"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
        # Deliberately no index on the account columns: every posting would
        # pay for them, and balances are read from the cached member rows;
        # full-ledger sums (verify, reports) scan anyway.
        Index("ix_transfers_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("entries.id"))
    from_account_id: Mapped[int] = mapped_column(BigId)
    to_account_id: Mapped[int] = mapped_column(BigId)
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Lot(db.Model):
    """Points that arrived in a member account together, with their dates.

    Spending, expiring and claw-backs consume the soonest-expiring lots
    first. A pending lot carries its ``release_at``; releasing it consumes it
    and opens an available lot with the same ``expires_at``.
    """

    __tablename__ = "lots"
    __table_args__ = (
        ForeignKeyConstraint(["program_id", "account_id"], ["accounts.program_id", "accounts.id"]),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_range"),
        Index("ix_lots_account_id", "account_id", "expires_at"),
        # The release and expiry sweeps' due lots, in id order: partial, so a lot drops out once
        # empty and a sweep's every batch reads only what is left (loyalty.ledger.sweeps).
        Index(
            "ix_lots_releasing",
            "program_id",
            "id",
            postgresql_where=text("remaining > 0 AND release_at IS NOT NULL"),
            sqlite_where=text("remaining > 0 AND release_at IS NOT NULL"),
        ),
        Index(
            "ix_lots_expiring",
            "program_id",
            "id",
            postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL"),
            sqlite_where=text("remaining > 0 AND expires_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    account_id: Mapped[int] = mapped_column(BigId)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("entries.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LotConsumption(db.Model):
    """How much of a lot a transfer took: the audit trail behind ``lots.remaining``.

    It is what makes breakage (points earned in a month that expired
    unspent) exact later on.
    """

    __tablename__ = "lot_consumptions"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_lot_consumptions_lot_id", "lot_id"),
        Index("ix_lot_consumptions_transfer_id", "transfer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
