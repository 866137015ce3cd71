"""What the ledger tells the outbox: one ``points.*`` event per entry it posts, in the entry's transaction.

Every change of points passes through the ledger (one operation, a worker's
batch of earnings, the release and expiry sweeps, reversals), so telling
the outbox here is what makes sure no path (the CLI, the API, the admin,
a webhook processed inline or in a worker's batch, a job) moves points
without an event: nothing upstream has to remember. A replay (a key
already taken) posts nothing and so tells nothing; a transaction that
rolls back takes its events with it (see :mod:`loyalty.messages.outbox`).

The rows are built here, one function per kind of entry, so every path
that posts a kind tells it in the same shape (``docs/events.md`` is the
catalog; a test keeps it true). What it costs: one INSERT per entry, one
executemany for a batch or a sweep, and on PostgreSQL an earning's event
is part of the earning's one statement (``statements.EARN_PG``). Nothing
is read for it: a balance comes from the accounts the operation has
locked anyway, which is why ``points.earned`` carries none (earning's
fast path knows only the credited account).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty.ledger.accounts import LockedAccounts
from loyalty.ledger.receipts import Receipt
from loyalty.messages import outbox
from loyalty.types import utc

#: The event type of each entry kind the ledger posts.
TYPES = {
    "earn": "points.earned",
    "release": "points.released",
    "redeem": "points.redeemed",
    "adjust": "points.adjusted",
    "reverse": "points.reversed",
    "expire": "points.expired",
}


def when(moment: datetime | None) -> str | None:
    """A date as events carry it: ISO 8601 in UTC with ``Z``, as the payload's ``created_at``."""
    return utc(moment).isoformat().replace("+00:00", "Z") if moment is not None else None


def source(source_type: str | None, source_id: str | None) -> dict | None:
    """``{"type", "id"}`` of what caused an entry (an order, a rule, a reward, a referral), or ``None``."""
    return {"type": source_type, "id": source_id} if source_type else None


def tell(conn: Connection, rows: list[dict]) -> None:
    """Record the rows in the caller's transaction: one statement however many (an executemany)."""
    outbox.write(conn, rows)


def _row(program_id: int, member_id: int, kind: str, now: datetime, data: dict) -> dict:
    return outbox.row(program_id, TYPES[kind], at=now, member_id=member_id, data=data)


# --- earning ---------------------------------------------------------------------------


def earned_data(
    amount: int,
    *,
    pending: bool,
    reason: str | None,
    source_pair: tuple[str, str] | None,
    cause: dict | None,
    release_at: datetime | None,
    expires_at: datetime | None,
    entry_id: int | None = None,
) -> dict:
    """``points.earned``'s data; ``entry_id`` is left out when the database fills it in (``EARN_PG``)."""
    data = {
        "points": amount,
        "status": "pending" if pending else "available",
        "reason": reason,
        "source": source(*source_pair) if source_pair else None,
        "cause": cause,
        "release_at": when(release_at),
        "expires_at": when(expires_at),
    }
    if entry_id is not None:
        data = {"entry_id": entry_id, **data}
    return data


def earned(program_id: int, member_id: int, entry_id: int, amount: int, *, now: datetime, **fields) -> dict:
    """The ``points.earned`` row of an entry just written (``fields``: see :func:`earned_data`)."""
    return _row(program_id, member_id, "earn", now, earned_data(amount, entry_id=entry_id, **fields))


def earned_in_statement(program_id: int, member_id: int, amount: int, *, now: datetime, **fields) -> dict:
    """``EARN_PG``'s parameters for the event it inserts with the entry (which adds ``entry_id`` to the data)."""
    row = _row(program_id, member_id, "earn", now, earned_data(amount, **fields))
    return {"event_uid": row["uid"], "event_data": json.dumps(row["data"])}


# --- what a locked operation posts -------------------------------------------------------


def redeemed(
    held: LockedAccounts,
    receipt: Receipt,
    *,
    now: datetime,
    reason: str | None,
    source_pair: tuple[str, str] | None,
    cause: dict | None,
) -> dict:
    return _row(
        held.program_id,
        held.member_id,
        "redeem",
        now,
        {
            "points": receipt.amount,
            "entry_id": receipt.entry_id,
            "reason": reason,
            "source": source(*source_pair) if source_pair else None,
            "cause": cause,
            "balance": held.balances["available"],
        },
    )


def adjusted(
    held: LockedAccounts,
    receipt: Receipt,
    signed: int,
    *,
    now: datetime,
    reason: str,
    actor: str,
    expires_at: datetime | None,
) -> dict:
    """``points`` is signed here: a debit is negative."""
    return _row(
        held.program_id,
        held.member_id,
        "adjust",
        now,
        {
            "points": signed,
            "entry_id": receipt.entry_id,
            "reason": reason,
            "source": None,
            "actor": actor,
            "expires_at": when(expires_at),
            "balance": held.balances["available"],
        },
    )


def reversed_(held: LockedAccounts, receipt: Receipt, original, *, now: datetime, reason: str | None) -> dict:
    """``original`` is the reversed entry's row: its kind, and its source (the order a refund is of)."""
    return _row(
        held.program_id,
        held.member_id,
        "reverse",
        now,
        {
            "points": receipt.amount,
            "entry_id": receipt.entry_id,
            "reason": reason,
            "source": source(original.source_type, original.source_id),
            "reversed_entry_id": original.id,
            "reversed_kind": original.kind,
            "shortfall": receipt.shortfall,
            "balance": held.balances["available"],
        },
    )


def from_lot(
    held: LockedAccounts, kind: str, entry_id: int, amount: int, lot, *, now: datetime, balance: int | None = None
) -> dict:
    """``points.released`` / ``points.expired``: a lot's points, told by what first brought them.

    ``lot`` has the lot's ``id`` and ``expires_at`` and the ``reason``,
    ``source_type``, ``source_id`` of the entry that opened it (for points
    released earlier, that release: source ``lot``). ``balance``: the
    available balance after the move (``held``'s, unless a sweep, which moves
    a member's lots one after another, says).
    """
    return _row(
        held.program_id,
        held.member_id,
        kind,
        now,
        {
            "points": amount,
            "entry_id": entry_id,
            "reason": lot.reason,
            "source": source(lot.source_type, lot.source_id),
            "lot_id": lot.id,
            "expires_at": when(lot.expires_at),
            "balance": held.balances["available"] if balance is None else balance,
        },
    )
