"""Lots: which points a member holds, and when each batch expires.

Every function here must be called with the lot's account row already
locked by the ledger (``SELECT … FOR UPDATE`` on PostgreSQL, the single
writer on SQLite): that lock is what keeps ``lots.remaining`` and the
cached balance consistent under concurrent writers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from loyalty.models import Lot, LotConsumption

lots = Lot.__table__
consumptions = LotConsumption.__table__


@dataclass(frozen=True)
class OpenLot:
    id: int
    remaining: int
    expires_at: datetime | None
    release_at: datetime | None


def open_lots(session: Session, account_id: int, *, entry_id: int | None = None) -> list[OpenLot]:
    """The account's lots with points left, soonest-expiring first (never-expiring last)."""
    query = (
        select(lots.c.id, lots.c.remaining, lots.c.expires_at, lots.c.release_at)
        .where(lots.c.account_id == account_id, lots.c.remaining > 0)
        .order_by(lots.c.expires_at.is_(None), lots.c.expires_at, lots.c.id)
    )
    if entry_id is not None:
        query = query.where(lots.c.entry_id == entry_id)
    return [OpenLot(*row) for row in session.execute(query)]


def consume(
    session: Session,
    transfer_id: int,
    amount: int,
    candidates: list[OpenLot],
) -> list[tuple[OpenLot, int]]:
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
    for lot, take in taken:
        session.execute(
            update(lots).where(lots.c.id == lot.id).values(remaining=lots.c.remaining - take)
        )
    if taken:
        session.execute(
            insert(consumptions),
            [{"lot_id": lot.id, "transfer_id": transfer_id, "amount": take} for lot, take in taken],
        )
    return taken


def open_lot(
    session: Session,
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
    settled = min(max(-balance_before, 0), amount)
    lot_id = session.execute(
        insert(lots)
        .values(
            program_id=program_id,
            account_id=account_id,
            entry_id=entry_id,
            amount=amount,
            remaining=amount - settled,
            created_at=now,
            expires_at=expires_at,
            release_at=release_at,
        )
        .returning(lots.c.id)
    ).scalar_one()
    if settled:
        session.execute(
            insert(consumptions).values(lot_id=lot_id, transfer_id=transfer_id, amount=settled)
        )
    return lot_id
