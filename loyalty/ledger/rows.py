"""The ledger's rows, built in one place, and the one bulk insert of many entries.

Every entry, transfer and lot the ledger writes is built by the functions
here, whether it is inserted on its own (one operation) or with many
others (:func:`insert_postings`: a worker's batch of earnings, the release
and expiry sweeps), so a column added or renamed is changed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty.db import insert_many
from loyalty.ledger import statements as sql
from loyalty.ledger.idempotency import Request
from loyalty.ledger.receipts import Receipt, TransferLine


def entry_row(
    program_id: int,
    member_id: int,
    request: Request,
    kind: str,
    amount: int,
    *,
    now: datetime,
    shortfall: int = 0,
    reason: str | None = None,
    actor: str | None = None,
    source: tuple[str, str] | None = None,
    reverses_id: int | None = None,
) -> dict:
    """An entry: one operation under one idempotency key."""
    return {
        "program_id": program_id,
        "member_id": member_id,
        "kind": kind,
        "amount": amount,
        "shortfall": shortfall,
        "idempotency_key": request.key,
        "request_hash": request.fingerprint,
        "reason": reason,
        "actor": actor,
        "source_type": source[0] if source else None,
        "source_id": source[1] if source else None,
        "reverses_id": reverses_id,
        "created_at": now,
    }


def transfer_row(
    program_id: int,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    *,
    now: datetime,
    entry_id: int | None = None,
) -> dict:
    """A transfer; ``entry_id`` is filled in by :func:`insert_postings` when the entry is inserted with it."""
    return {
        "program_id": program_id,
        "entry_id": entry_id,
        "from_account_id": from_account_id,
        "to_account_id": to_account_id,
        "amount": amount,
        "created_at": now,
    }


def lot_row(
    program_id: int,
    account_id: int,
    amount: int,
    remaining: int,
    *,
    now: datetime,
    expires_at: datetime | None = None,
    release_at: datetime | None = None,
    entry_id: int | None = None,
) -> dict:
    """A lot of ``amount`` points of which ``remaining`` are left (less when part settled a debt)."""
    return {
        "program_id": program_id,
        "account_id": account_id,
        "entry_id": entry_id,
        "amount": amount,
        "remaining": remaining,
        "created_at": now,
        "expires_at": expires_at,
        "release_at": release_at,
    }


@dataclass
class NewPosting:
    """One entry with its one transfer for :func:`insert_postings`, and what the transfer does.

    ``takes_lot`` is a lot the transfer empties (its remaining is the
    amount); ``opens_lot`` the lot it opens, of which ``settled`` points
    settle a debt at once. ``debits_member`` / ``credits_member`` say the
    source / target is a member account, whose cached balance changes
    (system accounts have none: no hot rows).
    """

    entry: dict
    transfer: dict
    takes_lot: int | None = None
    opens_lot: dict | None = None
    settled: int = 0
    debits_member: bool = False
    credits_member: bool = False


def insert_postings(conn: Connection, postings: list[NewPosting]) -> list[Receipt]:
    """Insert many entries and their transfers, lots and balances: a fixed handful of statements.

    One multi-row insert each for the entries, the transfers, the new lots
    and the consumptions (ids taken first: :func:`loyalty.db.insert_many`),
    one executemany for the lots taken from and one for the balances, in
    account id order. The caller holds every member's accounts locked and
    has checked every posting; a key already taken is a unique-constraint
    error that rolls the caller's transaction back.
    """
    entry_ids = insert_many(conn, sql.entries, [posting.entry for posting in postings])
    for posting, entry_id in zip(postings, entry_ids):
        posting.transfer["entry_id"] = entry_id
        if posting.opens_lot is not None:
            posting.opens_lot["entry_id"] = entry_id
    transfer_ids = insert_many(conn, sql.transfers, [posting.transfer for posting in postings])
    consumptions = []
    taking = [
        (posting, transfer_id) for posting, transfer_id in zip(postings, transfer_ids) if posting.takes_lot is not None
    ]
    if taking:
        conn.execute(
            sql.TAKE_FROM_LOT,
            [{"l_id": posting.takes_lot, "l_take": posting.transfer["amount"]} for posting, _ in taking],
        )
        consumptions += [
            {"lot_id": posting.takes_lot, "transfer_id": transfer_id, "amount": posting.transfer["amount"]}
            for posting, transfer_id in taking
        ]
    opening = [
        (posting, transfer_id) for posting, transfer_id in zip(postings, transfer_ids) if posting.opens_lot is not None
    ]
    lot_ids = insert_many(conn, sql.lots, [posting.opens_lot for posting, _ in opening])
    consumptions += [
        {"lot_id": lot_id, "transfer_id": transfer_id, "amount": posting.settled}
        for (posting, transfer_id), lot_id in zip(opening, lot_ids)
        if posting.settled
    ]
    if consumptions:
        conn.execute(sql.INSERT_CONSUMPTION, consumptions)
    deltas: dict[int, int] = {}
    for posting in postings:
        row = posting.transfer
        if posting.debits_member:
            deltas[row["from_account_id"]] = deltas.get(row["from_account_id"], 0) - row["amount"]
        if posting.credits_member:
            deltas[row["to_account_id"]] = deltas.get(row["to_account_id"], 0) + row["amount"]
    bumps = [{"b_account": account, "b_delta": delta} for account, delta in sorted(deltas.items()) if delta]
    if bumps:
        conn.execute(sql.BUMP_BALANCE, bumps)
    return [
        Receipt(
            entry_id,
            posting.entry["kind"],
            posting.transfer["amount"],
            0,
            (
                TransferLine(
                    transfer_id,
                    posting.transfer["from_account_id"],
                    posting.transfer["to_account_id"],
                    posting.transfer["amount"],
                ),
            ),
        )
        for posting, entry_id, transfer_id in zip(postings, entry_ids, transfer_ids)
    ]
