"""Clawing many credits back at once: :meth:`Ledger.reverse_many <loyalty.ledger.Ledger.reverse_many>`.

A worker's wave of refunds and cancellations reverses two or three earn
entries per order; :func:`loyalty.ledger.reversal.reverse` takes about a
dozen statements for each. :func:`reverse_many` takes the same steps
(lock, check, claim, write: :mod:`loyalty.ledger.posting`) for all of them
with a fixed number of statements: the entries, their transfers, the
members' accounts locked at once, the keys already taken, what was
reversed so far, the open lots and the programs' claw-back policies read
in one query each; then the entries, transfers and consumptions inserted,
the lots and balances updated and the ``points.reversed`` events told in
one statement each.

The arithmetic is :func:`loyalty.ledger.reversal.reverse`'s, step by step
in memory and in the order given (the entry's own pending lots first, then
available, soonest-expiring first; the policy decides a shortfall), so the
rows written are the ones reversing each entry in turn would write. What
it does not cover goes through that function, one at a time: a key taken
already (a replay, or a conflict), an entry that is no credit, or one
asked for more than it has left (the errors are that function's). A
member with any such reversal has all of theirs reversed one at a time,
in order, after the others; members are independent of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from loyalty import errors
from loyalty.db import insert_many
from loyalty.ledger import events
from loyalty.ledger import statements as sql
from loyalty.ledger.accounts import lock_many
from loyalty.ledger.amounts import check_amount
from loyalty.ledger.idempotency import Request, check_key, iso
from loyalty.ledger.lots import OpenLot
from loyalty.ledger.receipts import Receipt, TransferLine
from loyalty.ledger.reversal import REVERSIBLE_KINDS, reverse
from loyalty.ledger.rows import entry_row, transfer_row
from loyalty.models import Program


@dataclass(frozen=True)
class NewReversal:
    """One reversal for :meth:`Ledger.reverse_many <loyalty.ledger.Ledger.reverse_many>`: what ``reverse`` takes."""

    entry_id: int
    amount: int | None
    key: str
    reason: str | None = None
    actor: str | None = None


def _request(reversal: NewReversal) -> Request:
    """The request :func:`loyalty.ledger.reversal.reverse` fingerprints (no ``expires_at``: credits only)."""
    return Request.of(
        reversal.key, {"op": "reverse", "entry": reversal.entry_id, "amount": reversal.amount, "expires_at": iso(None)}
    )


def reverse_many(conn: Connection, now: datetime, reversals: list[NewReversal]) -> list[Receipt]:
    """:meth:`Ledger.reverse_many <loyalty.ledger.Ledger.reverse_many>` on ``conn``: receipts in the order given."""
    if not reversals:
        return []
    for reversal in reversals:
        if reversal.amount is not None:
            check_amount(reversal.amount)
        check_key(reversal.key)
    if len({r.key for r in reversals}) < len(reversals):
        raise errors.InvalidInput("the same idempotency key twice in one batch of reversals")
    ids = sorted({r.entry_id for r in reversals})
    originals = {row.id: row for row in conn.execute(select(sql.entries).where(sql.entries.c.id.in_(ids)))}
    credits = {
        row.entry_id: row for row in conn.execute(select(sql.transfers).where(sql.transfers.c.entry_id.in_(ids)))
    }
    members = {row.member_id for row in originals.values() if row.member_id is not None}
    held = lock_many(conn, members)
    keys = {r.key for r in reversals}
    taken = {
        (row.program_id, row.idempotency_key)
        for row in conn.execute(
            select(sql.entries.c.program_id, sql.entries.c.idempotency_key).where(
                sql.entries.c.idempotency_key.in_(keys),
                sql.entries.c.program_id.in_({account.program_id for account in held.values()}),
            )
        )
    }
    # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
    reversed_so_far = {
        entry_id: int(total)
        for entry_id, total in conn.execute(
            select(sql.entries.c.reverses_id, func.sum(sql.entries.c.amount))
            .where(sql.entries.c.reverses_id.in_(ids))
            .group_by(sql.entries.c.reverses_id)
        )
    }

    # Which reversals are plain claw-backs of credits; a member with any other goes one at a time.
    left = {entry_id: originals[entry_id].amount - reversed_so_far.get(entry_id, 0) for entry_id in originals}
    plain, one_at_a_time = [], set()
    for reversal in reversals:
        original = originals.get(reversal.entry_id)
        if original is None or original.kind not in REVERSIBLE_KINDS or original.member_id is None:
            if original is not None and original.member_id is not None:
                one_at_a_time.add(original.member_id)
            plain.append(None)  # one at a time: its error
            continue
        account = held[original.member_id]
        credited = {account_id: kind for kind, account_id in account.ids.items()}.get(
            credits[reversal.entry_id].to_account_id
        )
        amount = left[reversal.entry_id] if reversal.amount is None else reversal.amount
        if (
            credited is None
            or (account.program_id, reversal.key) in taken
            or left[reversal.entry_id] <= 0
            or amount > left[reversal.entry_id]
        ):
            one_at_a_time.add(original.member_id)
            plain.append(None)
            continue
        left[reversal.entry_id] -= amount
        plain.append((original, credited, amount, credits[reversal.entry_id].from_account_id))
    fast = [
        (n, reversal, *planned)
        for n, (reversal, planned) in enumerate(zip(reversals, plain))
        if planned is not None and planned[0].member_id not in one_at_a_time
    ]

    receipts: list[Receipt | None] = [None] * len(reversals)
    if fast:
        _reverse_together(conn, now, held, fast, receipts)
    for n, reversal in enumerate(reversals):
        if receipts[n] is None:
            receipts[n] = reverse(
                conn,
                reversal.entry_id,
                reversal.amount,
                key=reversal.key,
                now=now,
                reason=reversal.reason,
                actor=reversal.actor,
            )
    return receipts


def _reverse_together(conn: Connection, now: datetime, held, fast: list, receipts: list) -> None:
    """Claw the ``fast`` reversals back, in order, with a fixed number of statements."""
    pending_accounts = {held[original.member_id].ids["pending"] for _, _, original, credited, _, _ in fast}
    entry_ids = {original.id for _, _, original, credited, _, _ in fast if credited == "pending"}
    lots: dict[tuple[int, int | None], list[OpenLot]] = {}  # (account, entry or None for any) -> open lots
    remaining: dict[int, int] = {}
    if entry_ids:
        for row in conn.execute(
            select(
                sql.lots.c.id,
                sql.lots.c.remaining,
                sql.lots.c.expires_at,
                sql.lots.c.release_at,
                sql.lots.c.account_id,
                sql.lots.c.entry_id,
            )
            .where(
                sql.lots.c.entry_id.in_(entry_ids),
                sql.lots.c.account_id.in_(pending_accounts),
                sql.lots.c.remaining > 0,
            )
            .order_by(sql.lots.c.expires_at.is_(None), sql.lots.c.expires_at, sql.lots.c.id)
        ):
            lots.setdefault((row.account_id, row.entry_id), []).append(
                OpenLot(row.id, row.remaining, row.expires_at, row.release_at)
            )
            remaining[row.id] = row.remaining
    available_accounts = {held[original.member_id].ids["available"] for _, _, original, _, _, _ in fast}
    for row in conn.execute(
        select(sql.lots.c.id, sql.lots.c.remaining, sql.lots.c.expires_at, sql.lots.c.release_at, sql.lots.c.account_id)
        .where(sql.lots.c.account_id.in_(available_accounts), sql.lots.c.remaining > 0)
        .order_by(sql.lots.c.expires_at.is_(None), sql.lots.c.expires_at, sql.lots.c.id)
    ):
        lots.setdefault((row.account_id, None), []).append(
            OpenLot(row.id, row.remaining, row.expires_at, row.release_at)
        )
        remaining[row.id] = row.remaining
    programs = {held[original.member_id].program_id for _, _, original, _, _, _ in fast}
    policy = dict(
        conn.execute(
            select(Program.__table__.c.id, Program.__table__.c.clawback_policy).where(
                Program.__table__.c.id.in_(programs)
            )
        ).all()
    )

    def take(candidates: list[OpenLot], amount: int) -> list[tuple[int, int]]:
        """What ``amount`` takes from the lots, in order, as :func:`loyalty.ledger.lots.consume` does."""
        taken = []
        for lot in candidates:
            if amount == 0:
                break
            size = min(remaining[lot.id], amount)
            if size:
                taken.append((lot.id, size))
                remaining[lot.id] -= size
                amount -= size
        return taken

    entries, transfers, consumed, told = [], [], [], []  # consumed: (transfer index, lot id, points)
    deltas: dict[int, int] = {}
    for n, reversal, original, credited, amount, system in fast:
        account = held[original.member_id]
        from_pending = 0
        if credited == "pending":
            own = lots.get((account.ids["pending"], original.id), [])
            from_pending = min(amount, sum(remaining[lot.id] for lot in own))
        rest = amount - from_pending
        available = account.balances["available"]
        if rest <= available or policy[account.program_id] == "allow_negative":
            from_available = rest
        else:
            from_available = max(available, 0)
        shortfall = rest - from_available
        entries.append(
            entry_row(
                account.program_id,
                account.member_id,
                _request(reversal),
                "reverse",
                amount,
                now=now,
                reason=reversal.reason,
                actor=reversal.actor,
                reverses_id=original.id,
                shortfall=shortfall,
            )
        )
        for kind, points in (("pending", from_pending), ("available", from_available)):
            if not points:
                continue
            candidates = (
                lots.get((account.ids["pending"], original.id), [])
                if kind == "pending"
                else lots.get((account.ids["available"], None), [])
            )
            consumed += [(len(transfers), lot_id, size) for lot_id, size in take(candidates, points)]
            transfers.append(
                (len(entries) - 1, transfer_row(account.program_id, account.ids[kind], system, points, now=now))
            )
            account.balances[kind] -= points
            deltas[account.ids[kind]] = deltas.get(account.ids[kind], 0) - points
        told.append((n, account, original, amount, shortfall, dict(account.balances)))

    entry_ids = insert_many(conn, sql.entries, entries)
    for entry_index, row in transfers:
        row["entry_id"] = entry_ids[entry_index]
    transfer_ids = insert_many(conn, sql.transfers, [row for _, row in transfers])
    if consumed:
        conn.execute(sql.TAKE_FROM_LOT, [{"l_id": lot_id, "l_take": size} for _, lot_id, size in consumed])
        conn.execute(
            sql.INSERT_CONSUMPTION,
            [{"lot_id": lot_id, "transfer_id": transfer_ids[t], "amount": size} for t, lot_id, size in consumed],
        )
    bumps = [{"b_account": account_id, "b_delta": delta} for account_id, delta in sorted(deltas.items()) if delta]
    if bumps:
        conn.execute(sql.BUMP_BALANCE, bumps)
    lines_of: dict[int, list[TransferLine]] = {}
    for (entry_index, row), transfer_id in zip(transfers, transfer_ids):
        lines_of.setdefault(entry_index, []).append(
            TransferLine(transfer_id, row["from_account_id"], row["to_account_id"], row["amount"])
        )
    outbox = []
    for entry_index, ((n, account, original, amount, shortfall, balances), entry_id) in enumerate(zip(told, entry_ids)):
        receipt = receipts[n] = Receipt(entry_id, "reverse", amount, shortfall, tuple(lines_of.get(entry_index, ())))
        after = _Balances(account.program_id, account.member_id, balances)
        outbox.append(events.reversed_(after, receipt, original, now=now, reason=entries[entry_index]["reason"]))
    events.tell(conn, outbox)


@dataclass(frozen=True)
class _Balances:
    """What :func:`loyalty.ledger.events.reversed_` reads of the held accounts: the balances after that reversal."""

    program_id: int
    member_id: int
    balances: dict
