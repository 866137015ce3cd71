"""The ledger service: the only code that moves points.

Every operation follows the same steps, in this order:

1. lock the member's accounts (``SELECT … FOR UPDATE``; on SQLite the
   transaction already holds the single write lock);
2. check the request against the balances it just locked;
3. claim the idempotency key by inserting the entry
   (``INSERT … ON CONFLICT DO NOTHING``);
4. write the transfers, the lots and the member's cached balances.

A key that is already taken means a repeat: the first result comes back
with ``replayed=True`` when the request is the same, and an
:class:`~loyalty.errors.IdempotencyConflict` when it is not. A request that
fails its checks is also looked up by key before it is refused, so a
repeat of a redemption is a replay even once the balance has moved on.
Checks come before writes, so a refused request has written nothing.

The caller owns the transaction: the ledger never commits, so a service
can post several entries (or an order and its points) atomically.

Writes are prebuilt SQLAlchemy Core statements (``statements.py``) run on
the session's connection, not the ORM unit of work: they are the hot
path (see ``bench/ledger.py``); the ledger's ORM classes are for reading.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock, current_clock
from loyalty.db import insert_many
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.models import Member
from loyalty.types import utc

#: Entry kinds that :meth:`Ledger.reverse` accepts. Releases are internal
#: moves and reversals are not reversed again: post a new entry instead.
REVERSIBLE_KINDS = ("earn", "adjust", "redeem", "expire")

#: Larger amounts are refused as input errors rather than risking overflow
#: in sums: a trillion points is far beyond any real program.
MAX_AMOUNT = 10**12

#: The longest idempotency key, here and wherever a caller's key is taken
#: (the API's ``Idempotency-Key``, redemptions): the columns hold 255.
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class TransferLine:
    id: int
    from_account_id: int
    to_account_id: int
    amount: int


@dataclass(frozen=True)
class Receipt:
    """What an operation did: the entry it wrote (or, ``replayed``, found under the same key) and its transfers.

    A receipt, not a "posting": ledgers elsewhere call each transfer line a posting.
    """

    entry_id: int
    kind: str
    amount: int
    shortfall: int
    transfers: tuple[TransferLine, ...]
    replayed: bool = False

    @property
    def moved(self) -> int:
        return sum(t.amount for t in self.transfers)


@dataclass
class _Held:
    """A member's accounts, locked for this transaction, and the request being served."""

    member_id: int
    program_id: int
    ids: dict[str, int]
    balances: dict[str, int]
    key: str = ""
    request: dict | None = None
    conn: Connection | None = None


def _check_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise errors.InvalidInput(f"amount must be a whole number of points, not {amount!r}")
    if amount <= 0:
        raise errors.InvalidInput(f"amount must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise errors.InvalidInput(f"amount {amount} is larger than the limit of {MAX_AMOUNT}")
    return amount


def _check_key(key) -> str:
    if not isinstance(key, str) or not key.strip():
        raise errors.InvalidInput("an idempotency key is required")
    if len(key) > MAX_KEY_LENGTH:
        raise errors.InvalidInput(f"the idempotency key is longer than {MAX_KEY_LENGTH} characters")
    return key


def scoped_key(prefix: str, key: str) -> str:
    """``prefix`` + a caller's key, as one key of at most :data:`MAX_KEY_LENGTH` characters.

    A caller may use the whole length, so the prefixed key may not fit: it
    then becomes the prefix and the key's SHA-256, never a truncation (two
    long keys that share their start would otherwise be one).
    """
    scoped = f"{prefix}{key}"
    if len(scoped) <= MAX_KEY_LENGTH:
        return scoped
    return f"{prefix}sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat() if moment is not None else None


def _earn_request(member_id, amount, pending, release_at, expires_at, source) -> dict:
    return {
        "op": "earn",
        "member": member_id,
        "amount": amount,
        "pending": pending,
        "release_at": _iso(release_at),
        "expires_at": _iso(expires_at),
        "source": list(source) if source else None,
    }


@dataclass(frozen=True)
class NewEarning:
    """One earning for :meth:`Ledger.earn_new`: the arguments :meth:`Ledger.earn` takes."""

    member: Member
    amount: int
    key: str
    pending: bool = False
    release_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    actor: str | None = None
    source: tuple[str, str] | None = None


def request_hash(request: dict) -> str:
    """A stable fingerprint of what an operation was asked to do.

    It covers what decides the effect on balances (member, amount, dates,
    source), not the free-text reason or the actor: retrying with a
    corrected reason is still the same request.
    """
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ledger:
    """Posts entries for one database session.

    ``Ledger(db.session).earn(member, 100, key="order-1:base")``; commit
    when the surrounding unit of work is done.
    """

    def __init__(self, session: Session, clock: Clock | None = None):
        self.session = session
        self.clock = clock or current_clock()
        self._system: dict[int, dict[str, int]] = {}
        self._dialect = session.get_bind().dialect.name
        self._claim_entry = sql.CLAIM_ENTRY["postgresql" if self._dialect == "postgresql" else "sqlite"]

    @property
    def _conn(self) -> Connection:
        return self.session.connection()

    # ------------------------------------------------------------------ earn

    def earn(
        self,
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
    ) -> Receipt:
        """Issue points to the member: to ``pending`` (until ``release_at``) or ``available``."""
        _check_amount(amount)
        _check_key(key)
        if release_at is not None and not pending:
            raise errors.InvalidInput("release_at only applies to pending points")
        request = _earn_request(member.id, amount, pending, release_at, expires_at, source)
        if member.status != "active":
            held = self._lock(member.id, key, request)
            return self._refuse(held, errors.MemberNotActive(f"member {member.external_id} is {member.status}"))
        # Earning cannot be refused by a balance, so it takes the row lock by
        # crediting the account straight away (one round trip fewer), and
        # undoes the credit if the key turns out to be taken.
        target = "pending" if pending else "available"
        conn = self.session.connection()
        row = conn.execute(
            sql.CREDIT_MEMBER_ACCOUNT, {"c_member": member.id, "c_kind": target, "c_delta": amount}
        ).first()
        if row is None:
            raise errors.UnknownMember(f"no member with id {member.id}")
        held = _Held(member.id, row.program_id, {target: row.id}, {target: row.balance}, key, request, conn)
        issued = self._system_account(held.program_id, "issued")
        try:
            if self._dialect == "postgresql":
                posted = self._earn_in_one_statement(held, target, issued, amount, reason, actor, source,
                                                     expires_at, release_at)
            else:
                posted = self._claim(held, "earn", amount, reason=reason, actor=actor, source=source)
        except errors.LoyaltyError:
            conn.execute(sql.BUMP_BALANCE, {"b_account": row.id, "b_delta": -amount})
            raise
        if isinstance(posted, Receipt):  # PostgreSQL wrote everything, or the key was taken
            if posted.replayed:
                conn.execute(sql.BUMP_BALANCE, {"b_account": row.id, "b_delta": -amount})
            return posted
        entry_id = posted  # SQLite: the entry is in; the transfer and the lot follow
        line = self._move(held, entry_id, issued, target, amount, credited=True)
        self._open_lot(held, entry_id, line, target, expires_at=expires_at, release_at=release_at)
        return Receipt(entry_id, "earn", amount, 0, (line,))

    def _earn_in_one_statement(self, held, target, issued, amount, reason, actor, source, expires_at, release_at):
        """PostgreSQL's earn: entry, transfer and lot in one round trip (``statements.EARN_PG``)."""
        row = held.conn.execute(
            sql.EARN_PG,
            {
                **self._entry_values(held, "earn", amount, reason=reason, actor=actor, source=source),
                "from_account_id": issued,
                "to_account_id": held.ids[target],
                "settled": lot_book.settled_debt(held.balances[target] - amount, amount),
                "expires_at": utc(expires_at) if expires_at else None,
                "release_at": utc(release_at) if release_at else None,
            },
        ).first()
        if row is None:
            return self._taken(held)
        line = TransferLine(row.transfer_id, issued, held.ids[target], amount)
        return Receipt(row.entry_id, "earn", amount, 0, (line,))

    def earn_new(self, earnings: list[NewEarning]) -> list[Receipt]:
        """Post many earnings at once, each to the effect :meth:`earn` would have.

        For a worker's batch of new orders: the keys name rows this
        transaction has just created (``order:<new id>:rule:…``), so none
        can have been used, and the whole batch is a handful of multi-row
        statements instead of two or four per earning. A key that is taken
        anyway is a unique-constraint error that rolls the caller's batch
        back (its deliveries are then processed one by one, where a taken
        key is a replay). Members must be active; their accounts are
        locked here if the caller has not already (:meth:`hold_many`).
        """
        if not earnings:
            return []
        for earning in earnings:
            _check_amount(earning.amount)
            _check_key(earning.key)
            if earning.release_at is not None and not earning.pending:
                raise errors.InvalidInput("release_at only applies to pending points")
            if earning.member.status != "active":
                raise errors.MemberNotActive(f"member {earning.member.external_id} is {earning.member.status}")
        if len({earning.key for earning in earnings}) < len(earnings):
            raise errors.InvalidInput("the same idempotency key twice in one batch of earnings")
        held = self.hold_many({earning.member.id for earning in earnings})
        now = self.clock.now()
        entry_rows, transfer_rows, lot_rows, settled, credits = [], [], [], [], {}
        for earning in earnings:
            account = held[earning.member.id]
            target = "pending" if earning.pending else "available"
            account_id = account.ids[target]
            balance_before = account.balances[target]
            account.balances[target] += earning.amount
            credits[account_id] = credits.get(account_id, 0) + earning.amount
            source = earning.source
            entry_rows.append({
                "program_id": account.program_id, "member_id": earning.member.id, "kind": "earn",
                "amount": earning.amount, "shortfall": 0, "idempotency_key": earning.key,
                "request_hash": request_hash(_earn_request(
                    earning.member.id, earning.amount, earning.pending, earning.release_at,
                    earning.expires_at, source)),
                "reason": earning.reason, "actor": earning.actor,
                "source_type": source[0] if source else None, "source_id": source[1] if source else None,
                "reverses_id": None, "created_at": now,
            })
            transfer_rows.append({
                "program_id": account.program_id, "from_account_id": self._system_account(account.program_id, "issued"),
                "to_account_id": account_id, "amount": earning.amount, "created_at": now,
            })
            settled.append(lot_book.settled_debt(balance_before, earning.amount))
            lot_rows.append({
                "program_id": account.program_id, "account_id": account_id, "amount": earning.amount,
                "remaining": earning.amount - settled[-1], "created_at": now,
                "expires_at": utc(earning.expires_at) if earning.expires_at else None,
                "release_at": utc(earning.release_at) if earning.release_at else None,
            })
        conn = self.session.connection()
        entry_ids = insert_many(conn, sql.entries, entry_rows)
        for rows in (transfer_rows, lot_rows):
            for row, entry_id in zip(rows, entry_ids):
                row["entry_id"] = entry_id
        transfer_ids = insert_many(conn, sql.transfers, transfer_rows)
        lot_ids = insert_many(conn, sql.lots, lot_rows)
        debts = [
            {"lot_id": lot_id, "transfer_id": transfer_id, "amount": amount}
            for lot_id, transfer_id, amount in zip(lot_ids, transfer_ids, settled) if amount
        ]
        if debts:
            conn.execute(sql.INSERT_CONSUMPTION, debts)
        conn.execute(sql.BUMP_BALANCE, [{"b_account": a, "b_delta": d} for a, d in sorted(credits.items())])
        return [
            Receipt(entry_id, "earn", row["amount"], 0,
                    (TransferLine(transfer_id, row["from_account_id"], row["to_account_id"], row["amount"]),))
            for entry_id, transfer_id, row in zip(entry_ids, transfer_ids, transfer_rows)
        ]

    # --------------------------------------------------------------- release

    def release_lot(self, lot_id: int, *, key: str | None = None) -> Receipt | None:
        """Move what is left of a pending lot to ``available``.

        Returns ``None`` when nothing is left to release (already released,
        or clawed back by a refund).
        """
        member_id = self._lot_owner(lot_id, "pending")
        held = self._lock(member_id, _check_key(key or f"release:lot:{lot_id}"), {"op": "release", "lot": lot_id})
        lot = held.conn.execute(
            select(sql.lots.c.remaining, sql.lots.c.expires_at).where(sql.lots.c.id == lot_id)
        ).one()
        if lot.remaining == 0:
            return self._find(held)
        amount = lot.remaining
        entry_id = self._claim(held, "release", amount, actor="ledger", source=("lot", str(lot_id)))
        if isinstance(entry_id, Receipt):
            return entry_id
        line = self._move(held, entry_id, held.ids["pending"], "available", amount, from_member="pending")
        lot_book.consume(held.conn, line.id, amount, [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)])
        self._open_lot(held, entry_id, line, "available", expires_at=lot.expires_at)
        return Receipt(entry_id, "release", amount, 0, (line,))

    def release_due(self, program_id: int, *, limit: int | None = None) -> list[Receipt]:
        """Release the program's pending lots whose release date has come (all, or ``limit``), set-based."""
        from loyalty.ledger import sweeps

        return self._sweep(sweeps.release_due, program_id, limit)

    # ---------------------------------------------------------------- redeem

    def redeem(
        self,
        member: Member,
        amount: int,
        *,
        key: str,
        reason: str | None = None,
        actor: str | None = None,
        source: tuple[str, str] | None = None,
    ) -> Receipt:
        """Spend available points, soonest-expiring lots first. Never below zero."""
        _check_amount(amount)
        _check_key(key)
        held = self._lock(member.id, key, {
            "op": "redeem",
            "member": member.id,
            "amount": amount,
            "source": list(source) if source else None,
        })
        if member.status != "active":
            return self._refuse(held, errors.MemberNotActive(f"member {member.external_id} is {member.status}"))
        if amount > held.balances["available"]:
            return self._refuse(held, self._insufficient(held, amount))
        entry_id = self._claim(held, "redeem", amount, reason=reason, actor=actor, source=source)
        if isinstance(entry_id, Receipt):
            return entry_id
        redeemed = self._system_account(held.program_id, "redeemed")
        line = self._move(held, entry_id, held.ids["available"], redeemed, amount, from_member="available")
        lot_book.consume(held.conn, line.id, amount, lot_book.open_lots(held.conn, held.ids["available"]))
        return Receipt(entry_id, "redeem", amount, 0, (line,))

    # ---------------------------------------------------------------- expire

    def expire_lot(self, lot_id: int, *, key: str | None = None) -> Receipt | None:
        """Expire what is left of an available lot whose expiry date has passed."""
        member_id = self._lot_owner(lot_id, "available")
        held = self._lock(member_id, _check_key(key or f"expire:lot:{lot_id}"), {"op": "expire", "lot": lot_id})
        lot = held.conn.execute(
            select(sql.lots.c.remaining, sql.lots.c.expires_at).where(sql.lots.c.id == lot_id)
        ).one()
        if lot.remaining == 0:
            return self._find(held)
        if lot.expires_at is None or lot.expires_at > self.clock.now():
            return self._refuse(held, errors.InvalidInput(f"lot {lot_id} has not expired"))
        amount = lot.remaining
        entry_id = self._claim(held, "expire", amount, actor="ledger", source=("lot", str(lot_id)))
        if isinstance(entry_id, Receipt):
            return entry_id
        expired = self._system_account(held.program_id, "expired")
        line = self._move(held, entry_id, held.ids["available"], expired, amount, from_member="available")
        lot_book.consume(held.conn, line.id, amount, [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)])
        return Receipt(entry_id, "expire", amount, 0, (line,))

    def expire_due(self, program_id: int, *, limit: int | None = None) -> list[Receipt]:
        """Expire the program's available lots past their expiry date (all, or ``limit``), set-based."""
        from loyalty.ledger import sweeps

        return self._sweep(sweeps.expire_due, program_id, limit)

    def _sweep(self, sweep, program_id: int, limit: int | None) -> list[Receipt]:
        if limit is not None:
            return sweep(self, program_id, limit=limit)
        postings = []
        while batch := sweep(self, program_id):
            postings += batch
        return postings

    # ---------------------------------------------------------------- adjust

    def adjust(
        self,
        member: Member,
        amount: int,
        *,
        key: str,
        reason: str,
        actor: str,
        expires_at: datetime | None = None,
    ) -> Receipt:
        """A manual correction by a person: ``amount`` > 0 credits, < 0 debits.

        A reason and an actor are required: adjustments are what auditors ask about.
        """
        size = -amount if isinstance(amount, int) and not isinstance(amount, bool) and amount < 0 else amount
        _check_amount(size)
        _check_key(key)
        if not reason or not reason.strip():
            raise errors.InvalidInput("an adjustment needs a reason")
        if not actor or not actor.strip():
            raise errors.InvalidInput("an adjustment needs an actor (who made it)")
        self._check_adjustment_expiry(amount, expires_at)
        held = self._lock(member.id, key, {
            "op": "adjust", "member": member.id, "amount": amount, "expires_at": _iso(expires_at),
        })
        if amount < 0 and size > held.balances["available"]:
            return self._refuse(held, self._insufficient(held, size))
        entry_id = self._claim(held, "adjust", size, reason=reason, actor=actor)
        if isinstance(entry_id, Receipt):
            return entry_id
        system = self._system_account(held.program_id, "adjustments")
        if amount > 0:
            line = self._move(held, entry_id, system, "available", size)
            self._open_lot(held, entry_id, line, "available", expires_at=expires_at)
        else:
            line = self._move(held, entry_id, held.ids["available"], system, size, from_member="available")
            lot_book.consume(held.conn, line.id, size, lot_book.open_lots(held.conn, held.ids["available"]))
        return Receipt(entry_id, "adjust", size, 0, (line,))

    def _check_adjustment_expiry(self, amount: int, expires_at: datetime | None) -> None:
        """An expiry belongs to credited points, and a credit that has already expired gives nothing."""
        if expires_at is None:
            return
        if amount < 0:
            raise errors.InvalidInput("expires_at applies to credits only: a debit takes points, it has nothing to expire")
        now = self.clock.now()
        try:
            expires_at = utc(expires_at)
        except OverflowError:
            raise errors.InvalidInput(f"expires_at {expires_at.isoformat()} is beyond the last year a date can have")
        if expires_at <= now:
            raise errors.InvalidInput(
                f"expires_at {expires_at.isoformat()} is in the past (now {now.isoformat()}): "
                "credited points would expire at once"
            )

    # --------------------------------------------------------------- reverse

    def reverse(
        self,
        entry_id: int,
        amount: int | None = None,
        *,
        key: str,
        program_id: int | None = None,
        reason: str | None = None,
        actor: str | None = None,
        expires_at: datetime | None = None,
    ) -> Receipt:
        """Undo an entry, wholly or in part, with a new entry linked to it.

        ``amount`` defaults to what is left to reverse; asking for more is a
        :class:`~loyalty.errors.ReversalExceeded`.

        * Reversing a credit (earn, positive adjust) claws points back: from
          the entry's own still-pending lots first, then from ``available``.
          If the member has spent them, the program's claw-back policy
          decides: ``allow_negative`` takes them anyway, ``cap_at_zero``
          stops at zero and records the rest as the entry's ``shortfall``.
        * Reversing a debit (redeem, expire, negative adjust) gives the
          points back as a new available lot. It expires at ``expires_at``,
          or, for a redemption or adjustment, at the latest expiry among
          the lots it had consumed.
        """
        if amount is not None:
            _check_amount(amount)
        _check_key(key)
        query = select(sql.entries).where(sql.entries.c.id == entry_id)
        if program_id is not None:
            query = query.where(sql.entries.c.program_id == program_id)
        original = self._conn.execute(query).first()
        if original is None:
            raise errors.UnknownEntry(f"no ledger entry {entry_id}" + (" in this program" if program_id else ""))
        if original.kind not in REVERSIBLE_KINDS or original.member_id is None:
            raise errors.NotReversible(
                f"entry {entry_id} is a {original.kind}; only {', '.join(REVERSIBLE_KINDS)} entries can be reversed"
            )
        held = self._lock(original.member_id, key, {
            "op": "reverse", "entry": entry_id, "amount": amount, "expires_at": _iso(expires_at),
        })
        # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
        left = original.amount - int(held.conn.execute(sql.REVERSED_SO_FAR, {"entry_id": entry_id}).scalar_one())
        if left <= 0:
            return self._refuse(held, errors.ReversalExceeded(f"entry {entry_id} has already been fully reversed", left=0))
        if amount is None:
            amount = left
        if amount > left:
            return self._refuse(held, errors.ReversalExceeded(
                f"entry {entry_id} has {left} points left to reverse; {amount} were asked", left=left
            ))
        (orig,) = held.conn.execute(select(sql.transfers).where(sql.transfers.c.entry_id == entry_id)).all()
        member_kinds = {account_id: kind for kind, account_id in held.ids.items()}
        if orig.to_account_id in member_kinds:
            return self._claw_back(held, original, orig, member_kinds[orig.to_account_id], amount, reason, actor)
        return self._give_back(held, original, orig, amount, reason, actor, expires_at)

    def _claw_back(self, held, original, orig, credited, amount, reason, actor) -> Receipt:
        system = orig.from_account_id
        from_pending = 0
        pending_lots: list[lot_book.OpenLot] = []
        if credited == "pending":
            pending_lots = lot_book.open_lots(held.conn, held.ids["pending"], entry_id=original.id)
            from_pending = min(amount, sum(lot.remaining for lot in pending_lots))
        rest = amount - from_pending
        available = held.balances["available"]
        if rest <= available or self._policy(held.program_id) == "allow_negative":
            from_available = rest
        else:
            from_available = max(available, 0)
        shortfall = rest - from_available
        entry_id = self._claim(held, "reverse", amount, reason=reason, actor=actor,
                               reverses_id=original.id, shortfall=shortfall)
        if isinstance(entry_id, Receipt):
            return entry_id
        lines = []
        if from_pending:
            line = self._move(held, entry_id, held.ids["pending"], system, from_pending, from_member="pending")
            lot_book.consume(held.conn, line.id, from_pending, pending_lots)
            lines.append(line)
        if from_available:
            line = self._move(held, entry_id, held.ids["available"], system, from_available, from_member="available")
            lot_book.consume(
                held.conn, line.id, from_available, lot_book.open_lots(held.conn, held.ids["available"])
            )
            lines.append(line)
        return Receipt(entry_id, "reverse", amount, shortfall, tuple(lines))

    def _give_back(self, held, original, orig, amount, reason, actor, expires_at) -> Receipt:
        if expires_at is None and original.kind != "expire":
            expires_at = self._latest_expiry_consumed(orig.id)
        entry_id = self._claim(held, "reverse", amount, reason=reason, actor=actor, reverses_id=original.id)
        if isinstance(entry_id, Receipt):
            return entry_id
        line = self._move(held, entry_id, orig.to_account_id, "available", amount)
        self._open_lot(held, entry_id, line, "available", expires_at=expires_at)
        return Receipt(entry_id, "reverse", amount, 0, (line,))

    def _latest_expiry_consumed(self, transfer_id: int) -> datetime | None:
        """The latest expiry among the lots a transfer took points from (None: never)."""
        rows = self._conn.execute(
            select(sql.lots.c.expires_at)
            .join(sql.consumptions, sql.consumptions.c.lot_id == sql.lots.c.id)
            .where(sql.consumptions.c.transfer_id == transfer_id)
        ).scalars().all()
        if not rows or any(r is None for r in rows):
            return None
        return max(rows)

    # ------------------------------------------------------------------ lock

    def hold(self, member_id: int) -> None:
        """Lock the member's accounts until the transaction ends.

        For callers that read before they post: the earning pipeline holds
        the member while rules count earlier orders and awards, so two
        events for one member cannot both see "first order".
        """
        self._lock(member_id, "", {})

    def hold_many(self, member_ids) -> dict[int, "_Held"]:
        """Lock many members' accounts at once, in account id order: their accounts by member id.

        A worker's batch holds all its members before it reads their
        history, as :meth:`hold` does for one.
        """
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        statement = sql.LOCK_MANY_MEMBERS_ACCOUNTS if self._dialect == "postgresql" else sql.MANY_MEMBERS_ACCOUNTS
        conn = self.session.connection()
        held: dict[int, _Held] = {}
        for row in conn.execute(statement, {"member_ids": ids}):
            account = held.setdefault(row.member_id, _Held(row.member_id, row.program_id, {}, {}, conn=conn))
            account.ids[row.kind] = row.id
            account.balances[row.kind] = row.balance
        missing = [member_id for member_id in ids if member_id not in held]
        if missing:
            raise errors.UnknownMember(f"no member with id {missing[0]}")
        return held

    # ----------------------------------------------------------------- reads

    def balances(self, member_id: int) -> dict[str, int]:
        """The member's cached balances, by account kind."""
        rows = self._conn.execute(sql.MEMBER_ACCOUNTS, {"member_id": member_id}).all()
        return {row.kind: row.balance for row in rows}

    def load(self, entry_id: int, *, replayed: bool = False) -> Receipt:
        entry = self._conn.execute(select(sql.entries).where(sql.entries.c.id == entry_id)).one()
        lines = tuple(
            TransferLine(t.id, t.from_account_id, t.to_account_id, t.amount)
            for t in self._conn.execute(
                select(sql.transfers).where(sql.transfers.c.entry_id == entry_id).order_by(sql.transfers.c.id)
            )
        )
        return Receipt(entry.id, entry.kind, entry.amount, entry.shortfall, lines, replayed)

    # --------------------------------------------------------------- helpers

    def _lock(self, member_id: int, key: str, request: dict) -> _Held:
        statement = sql.LOCK_MEMBER_ACCOUNTS if self._dialect == "postgresql" else sql.MEMBER_ACCOUNTS
        conn = self.session.connection()
        rows = conn.execute(statement, {"member_id": member_id}).all()
        if not rows:
            raise errors.UnknownMember(f"no member with id {member_id}")
        return _Held(
            member_id=member_id,
            program_id=rows[0].program_id,
            ids={r.kind: r.id for r in rows},
            balances={r.kind: r.balance for r in rows},
            key=key,
            request=request,
            conn=conn,
        )

    def _find(self, held: _Held) -> Receipt | None:
        """The entry already posted under this request's key, if any (or a conflict)."""
        found = held.conn.execute(sql.FIND_ENTRY, {"program_id": held.program_id, "key": held.key}).first()
        if found is None:
            return None
        if found.request_hash != request_hash(held.request):
            raise errors.IdempotencyConflict(
                f"idempotency key {held.key!r} was already used for a different request (entry {found.id})",
                entry_id=found.id,
            )
        return self.load(found.id, replayed=True)

    def _refuse(self, held: _Held, error: errors.LoyaltyError) -> Receipt:
        """Raise ``error``, unless this request was posted before: then it is a replay."""
        replay = self._find(held)
        if replay is None:
            raise error
        return replay

    def _claim(
        self,
        held: _Held,
        kind: str,
        amount: int,
        *,
        reason: str | None = None,
        actor: str | None = None,
        source: tuple[str, str] | None = None,
        reverses_id: int | None = None,
        shortfall: int = 0,
    ) -> int | Receipt:
        """Insert the entry under the request's key: its id, or the replay if the key was taken."""
        entry_id = held.conn.execute(
            self._claim_entry,
            self._entry_values(held, kind, amount, reason=reason, actor=actor, source=source,
                               reverses_id=reverses_id, shortfall=shortfall),
        ).scalar()
        return entry_id if entry_id is not None else self._taken(held)

    def _entry_values(self, held, kind, amount, *, reason=None, actor=None, source=None, reverses_id=None, shortfall=0):
        return {
            "program_id": held.program_id,
            "member_id": held.member_id,
            "kind": kind,
            "amount": amount,
            "shortfall": shortfall,
            "idempotency_key": held.key,
            "request_hash": request_hash(held.request),
            "reason": reason,
            "actor": actor,
            "source_type": source[0] if source else None,
            "source_id": source[1] if source else None,
            "reverses_id": reverses_id,
            "created_at": self.clock.now(),
        }

    def _taken(self, held: _Held) -> Receipt:
        """The key was taken: the replay, or a conflict."""
        replay = self._find(held)
        if replay is None:  # taken and gone again: only if the other writer rolled back
            raise errors.IdempotencyConflict(f"idempotency key {held.key!r} is being used by a concurrent request")
        return replay

    def _move(
        self,
        held: _Held,
        entry_id: int,
        from_account: int,
        to: str | int,
        amount: int,
        *,
        from_member: str | None = None,
        credited: bool = False,
    ) -> TransferLine:
        """Insert one transfer and update the member's cached balances.

        ``to`` is a member account kind or a system account id; ``from_member``
        names the member account kind when the source is the member's;
        ``credited`` says the target's cached balance was already raised.
        System accounts are never updated: their balance is a sum (no hot rows).
        """
        to_account = held.ids[to] if isinstance(to, str) else to
        transfer_id = held.conn.execute(
            sql.INSERT_TRANSFER,
            {
                "program_id": held.program_id,
                "entry_id": entry_id,
                "from_account_id": from_account,
                "to_account_id": to_account,
                "amount": amount,
                "created_at": self.clock.now(),
            },
        ).scalar_one()
        if from_member:
            held.conn.execute(sql.BUMP_BALANCE, {"b_account": held.ids[from_member], "b_delta": -amount})
            held.balances[from_member] -= amount
        if isinstance(to, str) and not credited:
            held.conn.execute(sql.BUMP_BALANCE, {"b_account": to_account, "b_delta": amount})
            held.balances[to] += amount
        return TransferLine(transfer_id, from_account, to_account, amount)

    def _open_lot(self, held: _Held, entry_id: int, line: TransferLine, kind: str, **dates) -> int:
        return lot_book.open_lot(
            held.conn,
            program_id=held.program_id,
            account_id=held.ids[kind],
            entry_id=entry_id,
            transfer_id=line.id,
            amount=line.amount,
            balance_before=held.balances[kind] - line.amount,
            now=self.clock.now(),
            **dates,
        )

    def _lot_owner(self, lot_id: int, kind: str) -> int:
        owner = self._conn.execute(
            select(sql.accounts.c.member_id, sql.accounts.c.kind)
            .join(sql.lots, sql.lots.c.account_id == sql.accounts.c.id)
            .where(sql.lots.c.id == lot_id)
        ).first()
        if owner is None or owner.kind != kind:
            raise errors.InvalidInput(f"lot {lot_id} is not {'a' if kind == 'pending' else 'an'} {kind} lot")
        return owner.member_id

    def _system_account(self, program_id: int, kind: str) -> int:
        if program_id not in self._system:
            rows = self._conn.execute(sql.SYSTEM_ACCOUNTS, {"program_id": program_id}).all()
            self._system[program_id] = {k: i for k, i in rows}
        return self._system[program_id][kind]

    def _policy(self, program_id: int) -> str:
        return self._conn.execute(sql.CLAWBACK_POLICY, {"program_id": program_id}).scalar_one()

    @staticmethod
    def _insufficient(held: _Held, amount: int) -> errors.InsufficientPoints:
        available = held.balances["available"]
        return errors.InsufficientPoints(
            f"the member has {available} points available; {amount} were asked",
            available=available,
            requested=amount,
        )
