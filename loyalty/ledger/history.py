"""A member's ledger history: each entry with what it did to their accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from loyalty.ledger import statements as sql
from loyalty.models import Account, Entry, Transfer

accounts = Account.__table__
entries = Entry.__table__
transfers = Transfer.__table__


@dataclass(frozen=True)
class HistoryLine:
    entry_id: int
    created_at: datetime
    kind: str
    available: int  # net change to the available account
    pending: int  # net change to the pending account
    shortfall: int
    reason: str | None
    actor: str | None
    idempotency_key: str
    reverses_id: int | None
    #: What caused it (``order``/``1001``, ``reward``/``3``, ``referral``/``7``), when known.
    source_type: str | None = None
    source_id: str | None = None


def member_history(
    session: Session, member_id: int, *, limit: int = 20, before_id: int | None = None
) -> list[HistoryLine]:
    """The member's latest entries, newest first (``before_id`` pages further back)."""
    ids = dict(session.execute(select(accounts.c.kind, accounts.c.id).where(accounts.c.member_id == member_id)).all())
    if not ids:
        return []

    def net(account_id):
        return func.coalesce(
            func.sum(
                case(
                    (transfers.c.to_account_id == account_id, transfers.c.amount),
                    (transfers.c.from_account_id == account_id, -transfers.c.amount),
                    else_=0,
                )
            ),
            0,
        )

    query = (
        select(
            entries.c.id,
            entries.c.created_at,
            entries.c.kind,
            net(ids["available"]).label("available"),
            net(ids["pending"]).label("pending"),
            entries.c.shortfall,
            entries.c.reason,
            entries.c.actor,
            entries.c.idempotency_key,
            entries.c.reverses_id,
            entries.c.source_type,
            entries.c.source_id,
        )
        .select_from(entries.outerjoin(transfers, transfers.c.entry_id == entries.c.id))
        .where(entries.c.member_id == member_id)
        .group_by(entries.c.id)
        .order_by(entries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(entries.c.id < before_id)
    return [HistoryLine(*row) for row in session.execute(query).all()]


def lifetime_earned(session: Session, member_id: int) -> int:
    """Points the member ever earned, less what refunds and cancellations took back of them.

    Spending, expiry and manual adjustments leave it alone: it measures
    what the member earned, which is what tier schemes and the API show.
    One prebuilt statement (:data:`loyalty.ledger.statements.MEMBER_EARNED`).
    """
    return int(session.scalar(sql.MEMBER_EARNED, {"member_id": member_id}))  # int(): SUM is NUMERIC on PostgreSQL
