"""Reversing an entry: clawing credited points back, or giving debited points back.

Reached through :meth:`Ledger.reverse <loyalty.ledger.Ledger.reverse>`,
which checks the caller's input first; the steps are every operation's
(lock, check, claim, write: see :mod:`loyalty.ledger.posting`). What is
left to reverse is read under the member's lock, so two concurrent
reversals of one entry can never take back more than it gave.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from loyalty import errors
from loyalty.ledger import events
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.accounts import LockedAccounts, lock
from loyalty.ledger.idempotency import Request, iso, refuse
from loyalty.ledger.receipts import Receipt
from loyalty.wording import points_text

#: Entry kinds that :meth:`Ledger.reverse` accepts. Releases are internal
#: moves and reversals are not reversed again: post a new entry instead.
REVERSIBLE_KINDS = ("earn", "adjust", "redeem", "expire")


def reverse(
    conn: Connection,
    entry_id: int,
    amount: int | None,
    *,
    key: str,
    now: datetime,
    program_id: int | None = None,
    reason: str | None = None,
    actor: str | None = None,
    expires_at: datetime | None = None,
) -> Receipt:
    """:meth:`Ledger.reverse <loyalty.ledger.Ledger.reverse>`, its input already checked."""
    query = select(sql.entries).where(sql.entries.c.id == entry_id)
    if program_id is not None:
        query = query.where(sql.entries.c.program_id == program_id)
    original = conn.execute(query).first()
    if original is None:
        raise errors.UnknownEntry(f"no ledger entry {entry_id}" + (" in this program" if program_id else ""))
    if original.kind not in REVERSIBLE_KINDS or original.member_id is None:
        raise errors.NotReversible(
            f"entry {entry_id} is a {original.kind}; only {', '.join(REVERSIBLE_KINDS)} entries can be reversed"
        )
    held = lock(conn, original.member_id)
    request = Request.of(key, {"op": "reverse", "entry": entry_id, "amount": amount, "expires_at": iso(expires_at)})
    # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
    left = original.amount - int(conn.execute(sql.REVERSED_SO_FAR, {"entry_id": entry_id}).scalar_one())
    if left <= 0:
        return refuse(
            conn,
            held.program_id,
            request,
            errors.ReversalExceeded(f"entry {entry_id} has already been fully reversed", left=0),
        )
    if amount is None:
        amount = left
    if amount > left:
        return refuse(
            conn,
            held.program_id,
            request,
            errors.ReversalExceeded(
                f"entry {entry_id} has {points_text(left)} left to reverse; {amount} were asked", left=left
            ),
        )
    (orig,) = conn.execute(select(sql.transfers).where(sql.transfers.c.entry_id == entry_id)).all()
    member_kinds = {account_id: kind for kind, account_id in held.ids.items()}
    if orig.to_account_id in member_kinds:
        return _claw_back(held, request, original, orig, member_kinds[orig.to_account_id], amount, reason, actor, now)
    return _give_back(held, request, original, orig, amount, reason, actor, expires_at, now)


def _claw_back(held: LockedAccounts, request, original, orig, credited, amount, reason, actor, now) -> Receipt:
    """Take credited points back: the entry's own pending lots first, then available, as the policy allows."""
    system = orig.from_account_id
    from_pending = 0
    pending_lots: list[lot_book.OpenLot] = []
    if credited == "pending":
        pending_lots = lot_book.open_lots(held.conn, held.ids["pending"], entry_id=original.id)
        from_pending = min(amount, sum(lot.remaining for lot in pending_lots))
    rest = amount - from_pending
    available = held.balances["available"]
    if rest <= available or _policy(held) == "allow_negative":
        from_available = rest
    else:
        from_available = max(available, 0)
    shortfall = rest - from_available
    claim = held.claim(
        request, "reverse", amount, now=now, reason=reason, actor=actor, reverses_id=original.id, shortfall=shortfall
    )
    if claim.replay is not None:
        return claim.replay
    lines = []
    if from_pending:
        line = held.move(claim.entry_id, held.ids["pending"], system, from_pending, now=now, from_member="pending")
        lot_book.consume(held.conn, line.id, from_pending, pending_lots)
        lines.append(line)
    if from_available:
        line = held.move(
            claim.entry_id, held.ids["available"], system, from_available, now=now, from_member="available"
        )
        lot_book.consume(held.conn, line.id, from_available, lot_book.open_lots(held.conn, held.ids["available"]))
        lines.append(line)
    receipt = Receipt(claim.entry_id, "reverse", amount, shortfall, tuple(lines))
    events.tell(held.conn, [events.reversed_(held, receipt, original, now=now, reason=reason)])
    return receipt


def _give_back(held: LockedAccounts, request, original, orig, amount, reason, actor, expires_at, now) -> Receipt:
    """Return debited points as a new available lot, expiring as the lots they were taken from would have."""
    if expires_at is None and original.kind != "expire":
        expires_at = _latest_expiry_consumed(held.conn, orig.id)
    claim = held.claim(request, "reverse", amount, now=now, reason=reason, actor=actor, reverses_id=original.id)
    if claim.replay is not None:
        return claim.replay
    line = held.move(claim.entry_id, orig.to_account_id, "available", amount, now=now)
    held.open_lot(claim.entry_id, line, "available", now=now, expires_at=expires_at)
    receipt = Receipt(claim.entry_id, "reverse", amount, 0, (line,))
    events.tell(held.conn, [events.reversed_(held, receipt, original, now=now, reason=reason)])
    return receipt


def _policy(held: LockedAccounts) -> str:
    """The program's claw-back policy, read only when the points are no longer there."""
    return held.conn.execute(sql.CLAWBACK_POLICY, {"program_id": held.program_id}).scalar_one()


def _latest_expiry_consumed(conn: Connection, transfer_id: int) -> datetime | None:
    """The latest expiry among the lots a transfer took points from (None: never)."""
    rows = (
        conn.execute(
            select(sql.lots.c.expires_at)
            .join(sql.consumptions, sql.consumptions.c.lot_id == sql.lots.c.id)
            .where(sql.consumptions.c.transfer_id == transfer_id)
        )
        .scalars()
        .all()
    )
    if not rows or any(r is None for r in rows):
        return None
    return max(rows)
