"""Lots: which points a member holds, and when each batch expires.

Every function here must be called with the lot's account row already
locked by the ledger (``SELECT … FOR UPDATE`` on PostgreSQL, the single
writer on SQLite): that lock is what keeps ``lots.remaining`` and the
cached balance consistent under concurrent writers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty.ledger import statements as sql
from loyalty.ledger.rows import lot_row


@dataclass(frozen=True)
class OpenLot:
    id: int
    remaining: int
    expires_at: datetime | None
    release_at: datetime | None


def open_lots(conn: Connection, account_id: int, *, entry_id: int | None = None) -> list[OpenLot]:
    """The account's lots with points left, soonest-expiring first (never-expiring last)."""
    if entry_id is None:
        rows = conn.execute(sql.OPEN_LOTS, {"account_id": account_id})
    else:
        rows = conn.execute(sql.OPEN_LOTS_OF_ENTRY, {"account_id": account_id, "entry_id": entry_id})
    return [OpenLot(*row) for row in rows]


def consume(conn: Connection, transfer_id: int, amount: int, candidates: list[OpenLot]) -> list[tuple[OpenLot, int]]:
    """Take up to ``amount`` points from ``candidates`` in order.

    Returns what was taken from each lot. Taking less than ``amount`` is
    legitimate only when the caller lets the balance go negative (a
    claw-back under the ``allow_negative`` policy): the difference is debt
    that the member's next credit settles (see :func:`open_lot`).
    """
    taken: list[tuple[OpenLot, int]] = []
    left = amount
    for lot in candidates:
        if left == 0:
            break
        take = min(lot.remaining, left)
        taken.append((lot, take))
        left -= take
    if taken:
        conn.execute(sql.TAKE_FROM_LOT, [{"l_id": lot.id, "l_take": take} for lot, take in taken])
        conn.execute(
            sql.INSERT_CONSUMPTION,
            [{"lot_id": lot.id, "transfer_id": transfer_id, "amount": take} for lot, take in taken],
        )
    return taken


def settled_debt(balance_before: int, amount: int) -> int:
    """How much of ``amount`` arriving goes to settle a negative balance first."""
    return min(max(-balance_before, 0), amount)


def open_lot(
    conn: Connection,
    *,
    program_id: int,
    account_id: int,
    entry_id: int,
    transfer_id: int,
    amount: int,
    balance_before: int,
    now: datetime,
    expires_at: datetime | None = None,
    release_at: datetime | None = None,
) -> int:
    """Record ``amount`` points arriving in an account as a new lot.

    If the balance was negative (debt left by a claw-back), the first points
    of the lot settle it: they are recorded as consumed by the arriving
    transfer, so open lots always sum to ``max(balance, 0)``.
    """
    settled = settled_debt(balance_before, amount)
    row = lot_row(
        program_id,
        account_id,
        amount,
        amount - settled,
        now=now,
        expires_at=expires_at,
        release_at=release_at,
        entry_id=entry_id,
    )
    lot_id = conn.execute(sql.INSERT_LOT, row).scalar_one()
    if settled:
        conn.execute(sql.INSERT_CONSUMPTION, {"lot_id": lot_id, "transfer_id": transfer_id, "amount": settled})
    return lot_id
