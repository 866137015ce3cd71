"""The accounts an operation works on: the member's, locked, and the program's, never locked.

Step 1 of every operation (see :mod:`loyalty.ledger.posting`) locks the
member's accounts: ``SELECT … FOR UPDATE`` in account id order on
PostgreSQL, so two writers on one member queue instead of deadlocking;
on SQLite the transaction already holds the single write lock. What comes
back, :class:`LockedAccounts`, is the handle every later step writes
through, and it keeps the balances it read up to date as points move, so
each check sees what the previous move left.

System accounts (``issued``, ``redeemed``, …) are touched by every
operation of a program, so they are never locked nor their balances
cached (DESIGN.md's "no hot rows"): :class:`SystemAccounts` only
remembers their ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty import errors
from loyalty.ledger import idempotency
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.receipts import TransferLine
from loyalty.ledger.rows import entry_row, transfer_row
from loyalty.wording import points_text


@dataclass
class LockedAccounts:
    """A member's accounts (ids and balances by kind), locked until the transaction ends."""

    conn: Connection
    member_id: int
    program_id: int
    ids: dict[str, int]
    balances: dict[str, int]

    def claim(
        self, request: idempotency.Request, kind: str, amount: int, *, now: datetime, **columns
    ) -> idempotency.Claim:
        """Step 3: claim the request's key by inserting the member's entry (``columns``: see :func:`entry_row`).

        Through the handle, so that no key is claimed before the member's
        accounts are locked and checked.
        """
        row = entry_row(self.program_id, self.member_id, request, kind, amount, now=now, **columns)
        return idempotency.claim(self.conn, row, request)

    def move(
        self,
        entry_id: int,
        from_account: int,
        to: str | int,
        amount: int,
        *,
        now: datetime,
        from_member: str | None = None,
        credited: bool = False,
    ) -> TransferLine:
        """Insert one transfer and update the member's cached balances.

        ``to`` is a member account kind or a system account id; ``from_member``
        names the member account kind when the source is the member's;
        ``credited`` says the target's cached balance was already raised.
        System accounts are never updated: their balance is a sum (no hot rows).
        """
        to_account = self.ids[to] if isinstance(to, str) else to
        transfer_id = self.conn.execute(
            sql.INSERT_TRANSFER,
            transfer_row(self.program_id, from_account, to_account, amount, now=now, entry_id=entry_id),
        ).scalar_one()
        if from_member:
            self.conn.execute(sql.BUMP_BALANCE, {"b_account": self.ids[from_member], "b_delta": -amount})
            self.balances[from_member] -= amount
        if isinstance(to, str) and not credited:
            self.conn.execute(sql.BUMP_BALANCE, {"b_account": to_account, "b_delta": amount})
            self.balances[to] += amount
        return TransferLine(transfer_id, from_account, to_account, amount)

    def open_lot(
        self,
        entry_id: int,
        line: TransferLine,
        kind: str,
        *,
        now: datetime,
        expires_at: datetime | None = None,
        release_at: datetime | None = None,
    ) -> int:
        """The lot for the points ``line`` just brought into the ``kind`` account."""
        return lot_book.open_lot(
            self.conn,
            program_id=self.program_id,
            account_id=self.ids[kind],
            entry_id=entry_id,
            transfer_id=line.id,
            amount=line.amount,
            balance_before=self.balances[kind] - line.amount,
            now=now,
            expires_at=expires_at,
            release_at=release_at,
        )

    def insufficient(self, amount: int) -> errors.InsufficientPoints:
        """The error for asking ``amount`` of the available balance when it has less."""
        available = self.balances["available"]
        return errors.InsufficientPoints(
            f"the member has {points_text(available)} available; {amount} were asked",
            available=available,
            requested=amount,
        )


def _for_update(conn: Connection) -> bool:
    """Row locks on PostgreSQL; SQLite's transaction already holds the one write lock."""
    return conn.dialect.name == "postgresql"


def lock(conn: Connection, member_id: int) -> LockedAccounts:
    """Lock one member's accounts."""
    statement = sql.LOCK_MEMBER_ACCOUNTS if _for_update(conn) else sql.MEMBER_ACCOUNTS
    rows = conn.execute(statement, {"member_id": member_id}).all()
    if not rows:
        raise errors.UnknownMember(f"no member with id {member_id}")
    return LockedAccounts(
        conn,
        member_id=member_id,
        program_id=rows[0].program_id,
        ids={r.kind: r.id for r in rows},
        balances={r.kind: r.balance for r in rows},
    )


def lock_many(conn: Connection, member_ids: Iterable[int]) -> dict[int, LockedAccounts]:
    """Lock many members' accounts in one statement, in account id order: their accounts by member id."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    statement = sql.LOCK_MANY_MEMBERS_ACCOUNTS if _for_update(conn) else sql.MANY_MEMBERS_ACCOUNTS
    held: dict[int, LockedAccounts] = {}
    for row in conn.execute(statement, {"member_ids": ids}):
        account = held.setdefault(row.member_id, LockedAccounts(conn, row.member_id, row.program_id, {}, {}))
        account.ids[row.kind] = row.id
        account.balances[row.kind] = row.balance
    missing = [member_id for member_id in ids if member_id not in held]
    if missing:
        raise errors.UnknownMember(f"no member with id {missing[0]}")
    return held


class SystemAccounts:
    """The ids of each program's system accounts, read once: they never change."""

    def __init__(self) -> None:
        self._ids: dict[int, dict[str, int]] = {}

    def id(self, conn: Connection, program_id: int, kind: str) -> int:
        if program_id not in self._ids:
            rows = conn.execute(sql.SYSTEM_ACCOUNTS, {"program_id": program_id}).all()
            self._ids[program_id] = {k: i for k, i in rows}
        return self._ids[program_id][kind]
