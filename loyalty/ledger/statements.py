"""The ledger's SQL, built once at import.

Building a Core statement (``insert(t).values(...)``) costs more Python
time than executing a cached one; the ledger runs these on every posting,
so they are constructed here once and executed with parameter dicts.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from loyalty.models import Account, Entry, Lot, LotConsumption, Program, Transfer

accounts = Account.__table__
entries = Entry.__table__
transfers = Transfer.__table__
lots = Lot.__table__
consumptions = LotConsumption.__table__

#: The member's accounts. PostgreSQL locks them (``FOR UPDATE``) in id
#: order, so two writers on one member queue instead of deadlocking.
MEMBER_ACCOUNTS = (
    select(accounts.c.id, accounts.c.kind, accounts.c.balance, accounts.c.program_id)
    .where(accounts.c.member_id == bindparam("member_id"))
    .order_by(accounts.c.id)
)
LOCK_MEMBER_ACCOUNTS = MEMBER_ACCOUNTS.with_for_update()

#: Many members' accounts at once (a worker's batch), locked in id order too.
MANY_MEMBERS_ACCOUNTS = (
    select(accounts.c.id, accounts.c.member_id, accounts.c.kind, accounts.c.balance, accounts.c.program_id)
    .where(accounts.c.member_id.in_(bindparam("member_ids", expanding=True)))
    .order_by(accounts.c.id)
)
LOCK_MANY_MEMBERS_ACCOUNTS = MANY_MEMBERS_ACCOUNTS.with_for_update()

SYSTEM_ACCOUNTS = select(accounts.c.kind, accounts.c.id).where(
    accounts.c.program_id == bindparam("program_id"), accounts.c.member_id.is_(None)
)

CLAWBACK_POLICY = select(Program.__table__.c.clawback_policy).where(Program.__table__.c.id == bindparam("program_id"))

#: Claim an idempotency key: inserts the entry, or nothing if the key exists.
CLAIM_ENTRY = {
    name: dialect.insert(entries)
    .on_conflict_do_nothing(index_elements=["program_id", "idempotency_key"])
    .returning(entries.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}

FIND_ENTRY = select(entries.c.id, entries.c.request_hash).where(
    entries.c.program_id == bindparam("program_id"), entries.c.idempotency_key == bindparam("key")
)

INSERT_TRANSFER = insert(transfers).returning(transfers.c.id)

BUMP_BALANCE = (
    update(accounts)
    .where(accounts.c.id == bindparam("b_account"))
    .values(balance=accounts.c.balance + bindparam("b_delta"))
)

#: Earning's fast path: lock the target account by crediting it, in one
#: round trip. ``Ledger.earn`` undoes the credit if the key turns out taken.
CREDIT_MEMBER_ACCOUNT = (
    update(accounts)
    .where(accounts.c.member_id == bindparam("c_member"), accounts.c.kind == bindparam("c_kind"))
    .values(balance=accounts.c.balance + bindparam("c_delta"))
    .returning(accounts.c.id, accounts.c.balance, accounts.c.program_id)
)

#: Points a member earned, less what refunds and cancellations took back of them (a reversal of an earning):
#: what ``lifetime_earned`` shows and what points-earned tier schemes count. One statement, a scan of the
#: member's entries (``ix_entries_member_id``), built here once: every member read runs it.
_original = entries.alias("original")
_earned = case(
    (entries.c.kind == "earn", entries.c.amount),
    (_original.c.kind == "earn", -entries.c.amount),
    else_=0,
)
MEMBER_EARNED = (
    select(func.coalesce(func.sum(_earned), 0))
    .select_from(entries.outerjoin(_original, _original.c.id == entries.c.reverses_id))
    .where(entries.c.member_id == bindparam("member_id"), entries.c.kind.in_(("earn", "reverse")))
)
#: The same, of earnings made since ``start`` (a claw-back counts when the earning it takes back does).
MEMBER_EARNED_SINCE = MEMBER_EARNED.where(
    case((entries.c.kind == "earn", entries.c.created_at), else_=_original.c.created_at)
    >= bindparam("start", type_=entries.c.created_at.type)
)

REVERSED_SO_FAR = select(func.coalesce(func.sum(entries.c.amount), 0)).where(
    entries.c.reverses_id == bindparam("entry_id")
)

INSERT_LOT = insert(lots).returning(lots.c.id)
INSERT_CONSUMPTION = insert(consumptions)
TAKE_FROM_LOT = (
    update(lots).where(lots.c.id == bindparam("l_id")).values(remaining=lots.c.remaining - bindparam("l_take"))
)
OPEN_LOTS = (
    select(lots.c.id, lots.c.remaining, lots.c.expires_at, lots.c.release_at)
    .where(lots.c.account_id == bindparam("account_id"), lots.c.remaining > 0)
    .order_by(lots.c.expires_at.is_(None), lots.c.expires_at, lots.c.id)
)
OPEN_LOTS_OF_ENTRY = OPEN_LOTS.where(lots.c.entry_id == bindparam("entry_id"))

#: A lot, and what first brought its points (the entry that opened it): what releasing or expiring it tells.
LOT_AND_ORIGIN = (
    select(
        lots.c.id,
        lots.c.remaining,
        lots.c.expires_at,
        entries.c.reason,
        entries.c.source_type,
        entries.c.source_id,
    )
    .select_from(lots.outerjoin(entries, entries.c.id == lots.c.entry_id))
    .where(lots.c.id == bindparam("lot_id"))
)

#: PostgreSQL: an earning's entry, transfer and lot, and its ``points.earned``
#: event in the outbox (:mod:`loyalty.ledger.events`), in one round trip. If
#: the key is taken, ``e`` is empty and so is everything after it: no row
#: is written (no event either) and no row comes back. (SQLite has no writes in CTEs; there
#: the three inserts run one by one, which costs no network round trips.)
EARN_PG = text(
    """
    WITH e AS (
        INSERT INTO entries (program_id, member_id, kind, amount, shortfall, idempotency_key,
                             request_hash, reason, actor, source_type, source_id, created_at)
        VALUES (:program_id, :member_id, 'earn', :amount, 0, :idempotency_key,
                :request_hash, :reason, :actor, :source_type, :source_id, :created_at)
        ON CONFLICT (program_id, idempotency_key) DO NOTHING
        RETURNING id
    ), t AS (
        INSERT INTO transfers (program_id, entry_id, from_account_id, to_account_id, amount, created_at)
        SELECT :program_id, e.id, :from_account_id, :to_account_id, :amount, :created_at FROM e
        RETURNING id, entry_id
    ), l AS (
        INSERT INTO lots (program_id, account_id, entry_id, amount, remaining, created_at, expires_at, release_at)
        SELECT :program_id, :to_account_id, e.id, :amount, :amount - :settled, :created_at, :expires_at, :release_at
        FROM e
        RETURNING id
    ), c AS (
        INSERT INTO lot_consumptions (lot_id, transfer_id, amount)
        SELECT l.id, t.id, :settled FROM l, t WHERE :settled > 0
    ), o AS (
        INSERT INTO outbox_events (uid, program_id, type, member_id, data, created_at)
        SELECT :event_uid, :program_id, 'points.earned', :member_id,
               CAST(CAST(:event_data AS jsonb) || jsonb_build_object('entry_id', e.id) AS json), :created_at
        FROM e
    )
    SELECT t.entry_id, t.id AS transfer_id FROM t
    """
)
