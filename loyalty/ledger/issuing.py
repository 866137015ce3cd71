"""Issuing points: :meth:`Ledger.earn <loyalty.ledger.Ledger.earn>` and its batch form, the ledger's fast path.

Earning is most of what the ledger posts (every paid order, every rule),
and it cannot be refused by a balance, so it takes shortcuts the other
operations cannot (see docs/architecture.md, "The earning fast path"):
it takes the member's row lock by crediting the account straight away
and undoes the credit if the key turns out to be taken; on PostgreSQL
the entry, the transfer, the lot and the ``points.earned`` event
(:mod:`loyalty.ledger.events`) are one statement; and a worker's
batch of new orders is a handful of multi-row statements
(:func:`earn_new`, through :func:`~loyalty.ledger.rows.insert_postings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty import errors
from loyalty.ledger import events
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.accounts import LockedAccounts, SystemAccounts, lock, lock_many
from loyalty.ledger.amounts import check_amount
from loyalty.ledger.idempotency import Request, check_key, iso, refuse, taken
from loyalty.ledger.receipts import Receipt, TransferLine
from loyalty.ledger.rows import NewPosting, entry_row, insert_postings, lot_row, transfer_row
from loyalty.models import Member
from loyalty.types import utc


@dataclass(frozen=True)
class NewEarning:
    """One earning for :meth:`Ledger.earn_new <loyalty.ledger.Ledger.earn_new>`: the arguments ``earn`` takes."""

    member: Member
    amount: int
    key: str
    pending: bool = False
    release_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    actor: str | None = None
    source: tuple[str, str] | None = None
    #: What caused it, for the ``points.earned`` event (``{"type": "order", "order_id", "rule"}``…); not fingerprinted.
    cause: dict | None = None


def _request(member_id, amount, pending, release_at, expires_at, source, key) -> Request:
    return Request.of(
        key,
        {
            "op": "earn",
            "member": member_id,
            "amount": amount,
            "pending": pending,
            "release_at": iso(release_at),
            "expires_at": iso(expires_at),
            "source": list(source) if source else None,
        },
    )


def earn(
    conn: Connection,
    system: SystemAccounts,
    now: datetime,
    member: Member,
    amount: int,
    *,
    key: str,
    pending: bool = False,
    release_at: datetime | None = None,
    expires_at: datetime | None = None,
    reason: str | None = None,
    actor: str | None = None,
    source: tuple[str, str] | None = None,
    cause: dict | None = None,
) -> Receipt:
    """:meth:`Ledger.earn <loyalty.ledger.Ledger.earn>` on ``conn``."""
    check_amount(amount)
    check_key(key)
    if release_at is not None and not pending:
        raise errors.InvalidInput("release_at only applies to pending points")
    request = _request(member.id, amount, pending, release_at, expires_at, source, key)
    if member.status != "active":
        held = lock(conn, member.id)
        return refuse(
            conn, held.program_id, request, errors.MemberNotActive(f"member {member.external_id} is {member.status}")
        )
    # Earning cannot be refused by a balance, so it takes the row lock by
    # crediting the account straight away (one round trip fewer), and
    # undoes the credit if the key turns out to be taken.
    target = "pending" if pending else "available"
    row = conn.execute(sql.CREDIT_MEMBER_ACCOUNT, {"c_member": member.id, "c_kind": target, "c_delta": amount}).first()
    if row is None:
        raise errors.UnknownMember(f"no member with id {member.id}")
    held = LockedAccounts(conn, member.id, row.program_id, {target: row.id}, {target: row.balance})
    issued = system.id(conn, held.program_id, "issued")
    write = _in_one_statement if conn.dialect.name == "postgresql" else _step_by_step
    try:
        receipt = write(
            held,
            request,
            target,
            issued,
            amount,
            now=now,
            reason=reason,
            actor=actor,
            source=source,
            expires_at=expires_at,
            release_at=release_at,
            cause=cause,
        )
    except errors.LoyaltyError:
        conn.execute(sql.BUMP_BALANCE, {"b_account": row.id, "b_delta": -amount})
        raise
    if receipt.replayed:
        conn.execute(sql.BUMP_BALANCE, {"b_account": row.id, "b_delta": -amount})
    return receipt


def _event_fields(target, reason, source, cause, expires_at, release_at) -> dict:
    return {
        "pending": target == "pending",
        "reason": reason,
        "source_pair": source,
        "cause": cause,
        "release_at": release_at,
        "expires_at": expires_at,
    }


def _in_one_statement(
    held, request, target, issued, amount, *, now, reason, actor, source, expires_at, release_at, cause
) -> Receipt:
    """PostgreSQL's earn: entry, transfer, lot and event in one round trip (``statements.EARN_PG``)."""
    row = held.conn.execute(
        sql.EARN_PG,
        {
            **entry_row(
                held.program_id,
                held.member_id,
                request,
                "earn",
                amount,
                now=now,
                reason=reason,
                actor=actor,
                source=source,
            ),
            "from_account_id": issued,
            "to_account_id": held.ids[target],
            "settled": lot_book.settled_debt(held.balances[target] - amount, amount),
            "expires_at": utc(expires_at) if expires_at else None,
            "release_at": utc(release_at) if release_at else None,
            **events.earned_in_statement(
                held.program_id,
                held.member_id,
                amount,
                now=now,
                **_event_fields(target, reason, source, cause, expires_at, release_at),
            ),
        },
    ).first()
    if row is None:
        return taken(held.conn, held.program_id, request)
    line = TransferLine(row.transfer_id, issued, held.ids[target], amount)
    return Receipt(row.entry_id, "earn", amount, 0, (line,))


def _step_by_step(
    held, request, target, issued, amount, *, now, reason, actor, source, expires_at, release_at, cause
) -> Receipt:
    """SQLite's earn: the entry, then the transfer, the lot and the event (no writes in CTEs there, and no round trips)."""
    claim = held.claim(request, "earn", amount, now=now, reason=reason, actor=actor, source=source)
    if claim.replay is not None:
        return claim.replay
    line = held.move(claim.entry_id, issued, target, amount, now=now, credited=True)
    held.open_lot(claim.entry_id, line, target, now=now, expires_at=expires_at, release_at=release_at)
    fields = _event_fields(target, reason, source, cause, expires_at, release_at)
    events.tell(held.conn, [events.earned(held.program_id, held.member_id, claim.entry_id, amount, now=now, **fields)])
    return Receipt(claim.entry_id, "earn", amount, 0, (line,))


def earn_new(conn: Connection, system: SystemAccounts, now: datetime, earnings: list[NewEarning]) -> list[Receipt]:
    """:meth:`Ledger.earn_new <loyalty.ledger.Ledger.earn_new>` on ``conn``."""
    if not earnings:
        return []
    for earning in earnings:
        check_amount(earning.amount)
        check_key(earning.key)
        if earning.release_at is not None and not earning.pending:
            raise errors.InvalidInput("release_at only applies to pending points")
        if earning.member.status != "active":
            raise errors.MemberNotActive(f"member {earning.member.external_id} is {earning.member.status}")
    if len({earning.key for earning in earnings}) < len(earnings):
        raise errors.InvalidInput("the same idempotency key twice in one batch of earnings")
    held = lock_many(conn, {earning.member.id for earning in earnings})
    postings = []
    for earning in earnings:
        account = held[earning.member.id]
        program_id, amount = account.program_id, earning.amount
        target = "pending" if earning.pending else "available"
        settled = lot_book.settled_debt(account.balances[target], amount)
        account.balances[target] += amount
        request = _request(
            earning.member.id,
            amount,
            earning.pending,
            earning.release_at,
            earning.expires_at,
            earning.source,
            earning.key,
        )
        postings.append(
            NewPosting(
                entry_row(
                    program_id,
                    earning.member.id,
                    request,
                    "earn",
                    amount,
                    now=now,
                    reason=earning.reason,
                    actor=earning.actor,
                    source=earning.source,
                ),
                transfer_row(program_id, system.id(conn, program_id, "issued"), account.ids[target], amount, now=now),
                opens_lot=lot_row(
                    program_id,
                    account.ids[target],
                    amount,
                    amount - settled,
                    now=now,
                    expires_at=utc(earning.expires_at) if earning.expires_at else None,
                    release_at=utc(earning.release_at) if earning.release_at else None,
                ),
                settled=settled,
                credits_member=True,
            )
        )
    receipts = insert_postings(conn, postings)
    events.tell(
        conn,
        [
            events.earned(
                posting.entry["program_id"],
                earning.member.id,
                receipt.entry_id,
                earning.amount,
                now=now,
                **_event_fields(
                    "pending" if earning.pending else "available",
                    earning.reason,
                    earning.source,
                    earning.cause,
                    earning.expires_at,
                    earning.release_at,
                ),
            )
            for earning, posting, receipt in zip(earnings, postings, receipts)
        ],
    )
    return receipts
