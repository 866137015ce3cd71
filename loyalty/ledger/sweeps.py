"""Releasing and expiring lots in bulk: what the scheduler's jobs post, through :class:`~loyalty.ledger.Ledger`.

Each due lot gets the entry :meth:`Ledger.release_lot` / :meth:`Ledger.expire_lot`
would post (same kind, same key ``release:lot:<id>`` / ``expire:lot:<id>``,
same request fingerprint: :func:`~loyalty.ledger.idempotency.lot_request`,
so the one-lot methods replay them), but a batch of lots costs a fixed
handful of statements: the due lots, one lock on all their members'
accounts (in id order), the lots again under that lock, then the bulk
insert of :func:`~loyalty.ledger.rows.insert_postings`.

The functions here are the ledger's, reached through its ``release_due``,
``expire_due`` and ``expire_inactive`` methods; they take the connection,
the system accounts and the time explicitly, so they need nothing of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import literal_column, select
from sqlalchemy.engine import Connection

from loyalty.ledger import events
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.accounts import LockedAccounts, SystemAccounts, lock_many
from loyalty.ledger.idempotency import lot_request
from loyalty.ledger.receipts import Receipt
from loyalty.ledger.rows import NewPosting, entry_row, insert_postings, lot_row, transfer_row
from loyalty.models import Member


def release_due(
    conn: Connection, system: SystemAccounts, program_id: int, *, now: datetime, limit: int
) -> list[Receipt]:
    """Release up to ``limit`` pending lots whose release date has come."""
    due = _due(conn, program_id, "pending", sql.lots.c.release_at <= now, limit)
    return _post(conn, system, due, "release", now, to_member="available") if due else []


def expire_due(
    conn: Connection, system: SystemAccounts, program_id: int, *, now: datetime, limit: int
) -> list[Receipt]:
    """Expire up to ``limit`` available lots whose expiry date has passed."""
    due = _due(conn, program_id, "available", sql.lots.c.expires_at <= now, limit)
    return _post(conn, system, due, "expire", now, to_system="expired") if due else []


def expire_inactive(
    conn: Connection, system: SystemAccounts, program_id: int, days: int, *, now: datetime, limit: int
) -> list[Receipt]:
    """Expire the available lots of members who have neither earned nor spent for ``days`` days."""
    cutoff = now - timedelta(days=days)
    entries, accounts, members = sql.entries, sql.accounts, Member.__table__
    recent = (
        select(entries.c.id)
        .where(
            entries.c.member_id == accounts.c.member_id,
            entries.c.kind.in_(("earn", "redeem")),
            entries.c.created_at > cutoff,
        )
        .exists()
    )
    enrolled_before = (
        select(members.c.id).where(members.c.id == accounts.c.member_id, members.c.enrolled_at <= cutoff).exists()
    )
    due = _due(conn, program_id, "available", ~recent & enrolled_before, limit)
    return _post(conn, system, due, "expire", now, to_system="expired") if due else []


def _due(conn, program_id, kind, condition, limit) -> list[tuple[object, LockedAccounts]]:
    """The due lots, read again after their members' accounts are locked (another writer may have got there)."""
    lots, accounts = sql.lots, sql.accounts
    origin = sql.entries.alias("origin")  # an alias: expire_inactive's condition correlates on entries
    query = (
        select(
            lots.c.id,
            lots.c.remaining,
            lots.c.expires_at,
            accounts.c.member_id,
            # What first brought the lot's points: what its event tells (loyalty.ledger.events.from_lot).
            origin.c.reason,
            origin.c.source_type,
            origin.c.source_id,
        )
        .join(accounts, accounts.c.id == lots.c.account_id)
        .outerjoin(origin, origin.c.id == lots.c.entry_id)
        # A literal 0, not a parameter: the partial indexes ix_lots_releasing / ix_lots_expiring
        # (remaining > 0) serve only a query whose condition implies theirs, even in a generic plan.
        .where(
            lots.c.program_id == program_id, accounts.c.kind == kind, lots.c.remaining > literal_column("0"), condition
        )
        .order_by(lots.c.id)
    )
    first = conn.execute(query.limit(limit)).all()
    if not first:
        return []
    held = lock_many(conn, {row.member_id for row in first})
    rows = conn.execute(query.where(lots.c.id.in_([row.id for row in first]))).all()
    return [(row, held[row.member_id]) for row in rows]


def _post(conn, system, due, kind, now, *, to_member=None, to_system=None) -> list[Receipt]:
    """Each lot's whole remainder to ``to_member`` (a kind of the member's) or ``to_system`` (a system account)."""
    from_kind = "pending" if kind == "release" else "available"
    postings, balances = [], []
    for lot, account in due:
        program_id, amount = account.program_id, lot.remaining
        to_account = account.ids[to_member] if to_member else system.id(conn, program_id, to_system)
        posting = NewPosting(
            entry_row(
                program_id,
                account.member_id,
                lot_request(kind, lot.id),
                kind,
                amount,
                now=now,
                actor="ledger",
                source=("lot", str(lot.id)),
            ),
            transfer_row(program_id, account.ids[from_kind], to_account, amount, now=now),
            takes_lot=lot.id,
            debits_member=True,
            credits_member=bool(to_member),
        )
        if to_member:
            # The released points arrive as a new lot, keeping their expiry; a negative
            # balance (debt) is settled first, as for any credit.
            posting.settled = lot_book.settled_debt(account.balances[to_member], amount)
            account.balances[to_member] += amount
            posting.opens_lot = lot_row(
                program_id, account.ids[to_member], amount, amount - posting.settled, now=now, expires_at=lot.expires_at
            )
        else:
            account.balances[from_kind] -= amount
        postings.append(posting)
        # The balance after this lot: what its event tells (a member's later lots in the batch move it on).
        balances.append(account.balances["available"])
    receipts = insert_postings(conn, postings)
    events.tell(
        conn,
        [
            events.from_lot(account, kind, receipt.entry_id, receipt.amount, lot, now=now, balance=balance)
            for (lot, account), balance, receipt in zip(due, balances, receipts)
        ],
    )
    return receipts
