"""Releasing and expiring lots in bulk: what the scheduler's jobs post.

Each due lot gets the entry :meth:`Ledger.release_lot` / :meth:`Ledger.expire_lot`
would post (same kind, same key ``release:lot:<id>`` / ``expire:lot:<id>``,
same request fingerprint, so the one-lot methods replay them), but a batch
of lots costs a fixed handful of statements: the due lots, one lock on all
their members' accounts (in id order), the lots again under that lock, then
one multi-row insert each for entries, transfers, consumptions and new
lots, and one executemany for the balances.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from loyalty.db import insert_many
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.posting import Receipt, TransferLine, request_hash
from loyalty.models import Member

#: Lots per batch: the caller commits between batches.
BATCH = 1000


def release_due(ledger, program_id: int, *, limit: int = BATCH) -> list[Receipt]:
    """Release up to ``limit`` pending lots whose release date has come."""
    due = _due(ledger, program_id, "pending", sql.lots.c.release_at <= ledger.clock.now(), limit)
    return _post(ledger, due, "release", to_member="available") if due else []


def expire_due(ledger, program_id: int, *, limit: int = BATCH) -> list[Receipt]:
    """Expire up to ``limit`` available lots whose expiry date has passed."""
    due = _due(ledger, program_id, "available", sql.lots.c.expires_at <= ledger.clock.now(), limit)
    return _post(ledger, due, "expire", to_system="expired") if due else []


def expire_inactive(ledger, program_id: int, days: int, *, limit: int = BATCH) -> list[Receipt]:
    """Expire the available lots of members who have neither earned nor spent for ``days`` days."""
    cutoff = ledger.clock.now() - timedelta(days=days)
    entries, accounts, members = sql.entries, sql.accounts, Member.__table__
    recent = select(entries.c.id).where(
        entries.c.member_id == accounts.c.member_id, entries.c.kind.in_(("earn", "redeem")),
        entries.c.created_at > cutoff,
    ).exists()
    enrolled_before = select(members.c.id).where(
        members.c.id == accounts.c.member_id, members.c.enrolled_at <= cutoff).exists()
    due = _due(ledger, program_id, "available", ~recent & enrolled_before, limit)
    return _post(ledger, due, "expire", to_system="expired") if due else []


def _due(ledger, program_id, kind, condition, limit):
    """The due lots, read again after their members' accounts are locked (another writer may have got there)."""
    conn = ledger.session.connection()
    lots, accounts = sql.lots, sql.accounts
    query = (
        select(lots.c.id, lots.c.remaining, lots.c.expires_at, accounts.c.member_id)
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(lots.c.program_id == program_id, accounts.c.kind == kind, lots.c.remaining > 0, condition)
        .order_by(lots.c.id)
    )
    first = conn.execute(query.limit(limit)).all()
    if not first:
        return []
    held = ledger.hold_many({row.member_id for row in first})
    rows = conn.execute(query.where(lots.c.id.in_([row.id for row in first]))).all()
    return [(row, held[row.member_id]) for row in rows]


def _post(ledger, due, kind, *, to_member=None, to_system=None) -> list[Receipt]:
    conn = ledger.session.connection()
    now = ledger.clock.now()
    from_kind = "pending" if kind == "release" else "available"
    entries, transfers = [], []
    for lot, account in due:
        entries.append({
            "program_id": account.program_id, "member_id": account.member_id, "kind": kind,
            "amount": lot.remaining, "shortfall": 0, "idempotency_key": f"{kind}:lot:{lot.id}",
            "request_hash": request_hash({"op": kind, "lot": lot.id}), "reason": None, "actor": "ledger",
            "source_type": "lot", "source_id": str(lot.id), "reverses_id": None, "created_at": now,
        })
        to_account = account.ids[to_member] if to_member else ledger._system_account(account.program_id, to_system)
        transfers.append({
            "program_id": account.program_id, "from_account_id": account.ids[from_kind],
            "to_account_id": to_account, "amount": lot.remaining, "created_at": now,
        })
    entry_ids = insert_many(conn, sql.entries, entries)
    for row, entry_id in zip(transfers, entry_ids):
        row["entry_id"] = entry_id
    transfer_ids = insert_many(conn, sql.transfers, transfers)
    conn.execute(sql.TAKE_FROM_LOT, [{"l_id": lot.id, "l_take": lot.remaining} for lot, _ in due])
    consumptions = [
        {"lot_id": lot.id, "transfer_id": transfer_id, "amount": lot.remaining}
        for (lot, _), transfer_id in zip(due, transfer_ids)
    ]
    deltas: dict[int, int] = {}
    for (lot, account), row in zip(due, transfers):
        deltas[row["from_account_id"]] = deltas.get(row["from_account_id"], 0) - lot.remaining
        if to_member:
            deltas[row["to_account_id"]] = deltas.get(row["to_account_id"], 0) + lot.remaining
    if to_member:
        # The released points arrive as new lots, keeping their expiry; a negative
        # balance (debt) is settled first, as for any credit.
        arriving, settled = [], []
        for (lot, account), entry_id, transfer_id in zip(due, entry_ids, transfer_ids):
            before = account.balances[to_member]
            account.balances[to_member] += lot.remaining
            settled.append((transfer_id, lot_book.settled_debt(before, lot.remaining)))
            arriving.append({
                "program_id": account.program_id, "account_id": account.ids[to_member], "entry_id": entry_id,
                "amount": lot.remaining, "remaining": lot.remaining - settled[-1][1], "created_at": now,
                "expires_at": lot.expires_at, "release_at": None,
            })
        for lot_id, (transfer_id, amount) in zip(insert_many(conn, sql.lots, arriving), settled):
            if amount:
                consumptions.append({"lot_id": lot_id, "transfer_id": transfer_id, "amount": amount})
    conn.execute(sql.INSERT_CONSUMPTION, consumptions)
    conn.execute(sql.BUMP_BALANCE, [{"b_account": a, "b_delta": d} for a, d in sorted(deltas.items()) if d])
    return [
        Receipt(entry_id, kind, row["amount"], 0,
                (TransferLine(transfer_id, row["from_account_id"], row["to_account_id"], row["amount"]),))
        for entry_id, transfer_id, row in zip(entry_ids, transfer_ids, transfers)
    ]
