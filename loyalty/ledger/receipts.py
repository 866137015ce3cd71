"""What an operation hands back: its receipt, and the transfer lines on it.

Separate from the code that posts so that every part of the ledger (one
operation, the bulk paths, a replay read back by key) returns the same
type without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from loyalty.ledger import statements as sql


@dataclass(frozen=True)
class TransferLine:
    """One movement of points between two accounts (what ledgers elsewhere call a posting)."""

    id: int
    from_account_id: int
    to_account_id: int
    amount: int


@dataclass(frozen=True)
class Receipt:
    """What an operation did: the entry it wrote (or, ``replayed``, found under the same key) and its transfers.

    A receipt, not a "posting": ledgers elsewhere call each transfer line a posting.
    """

    entry_id: int
    kind: str
    amount: int
    shortfall: int
    transfers: tuple[TransferLine, ...]
    replayed: bool = False

    @property
    def moved(self) -> int:
        return sum(t.amount for t in self.transfers)


def load_receipt(conn: Connection, entry_id: int, *, replayed: bool = False) -> Receipt:
    """The receipt of an entry already written, read back from its rows."""
    entry = conn.execute(select(sql.entries).where(sql.entries.c.id == entry_id)).one()
    lines = tuple(
        TransferLine(t.id, t.from_account_id, t.to_account_id, t.amount)
        for t in conn.execute(
            select(sql.transfers).where(sql.transfers.c.entry_id == entry_id).order_by(sql.transfers.c.id)
        )
    )
    return Receipt(entry.id, entry.kind, entry.amount, entry.shortfall, lines, replayed)
