"""The ledger service: the only code that moves points.

Every operation follows the same steps, in this order:

1. lock the member's accounts (``SELECT … FOR UPDATE``; on SQLite the
   transaction already holds the single write lock);
2. check the request against the balances it just locked;
3. claim the idempotency key by inserting the entry
   (``INSERT … ON CONFLICT DO NOTHING``);
4. write the transfers, the lots and the member's cached balances, and
   tell the outbox (one ``points.*`` event per entry: :mod:`loyalty.ledger.events`).

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

:class:`Ledger` is the one way in. The steps live beside it: locking and
the locked accounts in ``accounts.py``, keys and claims in
``idempotency.py``, every row and the one bulk insert in ``rows.py``, what
an operation returns in ``receipts.py``. Earning's fast path
(``issuing.py``), reversal (``reversal.py``) and the release and expiry
sweeps (``sweeps.py``) are operations of their own that ``Ledger``
delegates to; they never import it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.ledger import bulk_reversal, events, issuing, reversal, sweeps
from loyalty.ledger import lots as lot_book
from loyalty.ledger import statements as sql
from loyalty.ledger.accounts import LockedAccounts, SystemAccounts, lock, lock_many
from loyalty.ledger.amounts import check_amount
from loyalty.ledger.idempotency import Request, check_key, find, iso, lot_request, refuse
from loyalty.ledger.issuing import NewEarning
from loyalty.ledger.receipts import Receipt, load_receipt
from loyalty.models import Member
from loyalty.types import utc

#: Lots per batch of a release or expiry sweep: a job commits between batches.
SWEEP_BATCH = 1000


class Ledger:
    """Posts entries for one database session.

    ``Ledger(db.session, clock).earn(member, 100, key="order-1:base")``;
    commit when the surrounding unit of work is done. The caller hands over
    the clock that dates what is written (the app's, the test's frozen one):
    the ledger never looks for one itself. A ledger made without a clock
    reads (balances, history) and refuses to write.
    """

    def __init__(self, session: Session, clock: Clock | None = None):
        self.session = session
        self.clock = clock
        self._system = SystemAccounts()

    def _now(self):
        if self.clock is None:
            raise RuntimeError("this Ledger was made without a clock: it can read, not write")
        return self.clock.now()

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
        cause: dict | None = None,
    ) -> Receipt:
        """Issue points to the member: to ``pending`` (until ``release_at``) or ``available``.

        ``cause`` is what the ``points.earned`` event tells of why (``{"type":
        "order", "order_id", "rule"}``, as the ``points_posted`` hook's); it is
        not part of the request, so a repeat with another cause is a replay.
        """
        return issuing.earn(
            self._conn,
            self._system,
            self._now(),
            member,
            amount,
            key=key,
            pending=pending,
            release_at=release_at,
            expires_at=expires_at,
            reason=reason,
            actor=actor,
            source=source,
            cause=cause,
        )

    def earn_one(self, earning: NewEarning) -> Receipt:
        """:meth:`earn` of a :class:`NewEarning` (a key that may have been used: a replay, not an error)."""
        return self.earn(
            earning.member,
            earning.amount,
            key=earning.key,
            pending=earning.pending,
            release_at=earning.release_at,
            expires_at=earning.expires_at,
            reason=earning.reason,
            actor=earning.actor,
            source=earning.source,
            cause=earning.cause,
        )

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
        return issuing.earn_new(self._conn, self._system, self._now(), earnings)

    # --------------------------------------------------------------- release

    def release_lot(self, lot_id: int, *, key: str | None = None) -> Receipt | None:
        """Move what is left of a pending lot to ``available``.

        Returns ``None`` when nothing is left to release (already released,
        or clawed back by a refund).
        """
        member_id = self._lot_owner(lot_id, "pending")
        request = lot_request("release", lot_id, key)
        held = lock(self._conn, member_id)
        lot = held.conn.execute(sql.LOT_AND_ORIGIN, {"lot_id": lot_id}).one()
        if lot.remaining == 0:
            return find(held.conn, held.program_id, request)
        amount = lot.remaining
        now = self._now()
        claim = held.claim(request, "release", amount, now=now, actor="ledger", source=("lot", str(lot_id)))
        if claim.replay is not None:
            return claim.replay
        line = held.move(claim.entry_id, held.ids["pending"], "available", amount, now=now, from_member="pending")
        lot_book.consume(held.conn, line.id, amount, [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)])
        held.open_lot(claim.entry_id, line, "available", now=now, expires_at=lot.expires_at)
        events.tell(held.conn, [events.from_lot(held, "release", claim.entry_id, amount, lot, now=now)])
        return Receipt(claim.entry_id, "release", amount, 0, (line,))

    def release_due(self, program_id: int, *, limit: int | None = None) -> list[Receipt]:
        """Release the program's pending lots whose release date has come (all, or ``limit``), set-based."""
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
        cause: dict | None = None,
    ) -> Receipt:
        """Spend available points, soonest-expiring lots first. Never below zero.

        ``cause``: what the ``points.redeemed`` event tells of why (the reward), as for :meth:`earn`.
        """
        check_amount(amount)
        check_key(key)
        request = Request.of(
            key,
            {
                "op": "redeem",
                "member": member.id,
                "amount": amount,
                "source": list(source) if source else None,
            },
        )
        held = lock(self._conn, member.id)
        if member.status != "active":
            return refuse(
                held.conn,
                held.program_id,
                request,
                errors.MemberNotActive(f"member {member.external_id} is {member.status}"),
            )
        if amount > held.balances["available"]:
            return refuse(held.conn, held.program_id, request, held.insufficient(amount))
        now = self._now()
        claim = held.claim(request, "redeem", amount, now=now, reason=reason, actor=actor, source=source)
        if claim.replay is not None:
            return claim.replay
        redeemed = self._system_account(held.program_id, "redeemed")
        line = held.move(claim.entry_id, held.ids["available"], redeemed, amount, now=now, from_member="available")
        lot_book.consume(held.conn, line.id, amount, lot_book.open_lots(held.conn, held.ids["available"]))
        receipt = Receipt(claim.entry_id, "redeem", amount, 0, (line,))
        events.tell(
            held.conn, [events.redeemed(held, receipt, now=now, reason=reason, source_pair=source, cause=cause)]
        )
        return receipt

    # ---------------------------------------------------------------- expire

    def expire_lot(self, lot_id: int, *, key: str | None = None) -> Receipt | None:
        """Expire what is left of an available lot whose expiry date has passed."""
        member_id = self._lot_owner(lot_id, "available")
        request = lot_request("expire", lot_id, key)
        held = lock(self._conn, member_id)
        lot = held.conn.execute(sql.LOT_AND_ORIGIN, {"lot_id": lot_id}).one()
        if lot.remaining == 0:
            return find(held.conn, held.program_id, request)
        now = self._now()
        if lot.expires_at is None or lot.expires_at > now:
            return refuse(held.conn, held.program_id, request, errors.InvalidInput(f"lot {lot_id} has not expired"))
        amount = lot.remaining
        claim = held.claim(request, "expire", amount, now=now, actor="ledger", source=("lot", str(lot_id)))
        if claim.replay is not None:
            return claim.replay
        expired = self._system_account(held.program_id, "expired")
        line = held.move(claim.entry_id, held.ids["available"], expired, amount, now=now, from_member="available")
        lot_book.consume(held.conn, line.id, amount, [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)])
        events.tell(held.conn, [events.from_lot(held, "expire", claim.entry_id, amount, lot, now=now)])
        return Receipt(claim.entry_id, "expire", amount, 0, (line,))

    def expire_due(self, program_id: int, *, limit: int | None = None) -> list[Receipt]:
        """Expire the program's available lots past their expiry date (all, or ``limit``), set-based."""
        return self._sweep(sweeps.expire_due, program_id, limit)

    def expire_inactive(self, program_id: int, days: int, *, limit: int | None = None) -> list[Receipt]:
        """Expire the available lots of members with no earning or spending for ``days`` days (all, or ``limit``)."""
        return self._sweep(sweeps.expire_inactive, program_id, limit, days)

    def _sweep(self, sweep, program_id: int, limit: int | None, *args) -> list[Receipt]:
        """Run a sweep of :mod:`loyalty.ledger.sweeps`: one batch of ``limit`` lots, or batch after batch until none is due."""

        def batch(size: int) -> list[Receipt]:
            return sweep(self._conn, self._system, program_id, *args, now=self._now(), limit=size)

        if limit is not None:
            return batch(limit)
        receipts = []
        while done := batch(SWEEP_BATCH):
            receipts += done
        return receipts

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
        check_amount(size)
        check_key(key)
        if not reason or not reason.strip():
            raise errors.InvalidInput("an adjustment needs a reason")
        if not actor or not actor.strip():
            raise errors.InvalidInput("an adjustment needs an actor (who made it)")
        self._check_adjustment_expiry(amount, expires_at)
        request = Request.of(
            key,
            {
                "op": "adjust",
                "member": member.id,
                "amount": amount,
                "expires_at": iso(expires_at),
            },
        )
        held = lock(self._conn, member.id)
        if amount < 0 and size > held.balances["available"]:
            return refuse(held.conn, held.program_id, request, held.insufficient(size))
        now = self._now()
        claim = held.claim(request, "adjust", size, now=now, reason=reason, actor=actor)
        if claim.replay is not None:
            return claim.replay
        system = self._system_account(held.program_id, "adjustments")
        if amount > 0:
            line = held.move(claim.entry_id, system, "available", size, now=now)
            held.open_lot(claim.entry_id, line, "available", now=now, expires_at=expires_at)
        else:
            line = held.move(claim.entry_id, held.ids["available"], system, size, now=now, from_member="available")
            lot_book.consume(held.conn, line.id, size, lot_book.open_lots(held.conn, held.ids["available"]))
        receipt = Receipt(claim.entry_id, "adjust", size, 0, (line,))
        events.tell(
            held.conn,
            [events.adjusted(held, receipt, amount, now=now, reason=reason, actor=actor, expires_at=expires_at)],
        )
        return receipt

    def _check_adjustment_expiry(self, amount: int, expires_at: datetime | None) -> None:
        """An expiry belongs to credited points, and a credit that has already expired gives nothing."""
        if expires_at is None:
            return
        if amount < 0:
            raise errors.InvalidInput(
                "expires_at applies to credits only: a debit takes points, it has nothing to expire"
            )
        now = self._now()
        try:
            expires_at = utc(expires_at)
        except OverflowError:
            raise errors.InvalidInput(
                f"expires_at {expires_at.isoformat()} is beyond the last year a date can have"
            ) from None
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
        :class:`~loyalty.errors.ReversalExceeded`. Only the kinds in
        :data:`loyalty.ledger.reversal.REVERSIBLE_KINDS` can be reversed.

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
            check_amount(amount)
        check_key(key)
        return reversal.reverse(
            self._conn,
            entry_id,
            amount,
            key=key,
            now=self._now(),
            program_id=program_id,
            reason=reason,
            actor=actor,
            expires_at=expires_at,
        )

    def reverse_many(self, reversals: list[bulk_reversal.NewReversal]) -> list[Receipt]:
        """Claw many credits back at once, as :meth:`reverse` each in turn would: receipts in the order given.

        A fixed number of statements for plain claw-backs of credits (a
        worker's wave of refunds and cancellations); a replayed key, an
        entry that is no credit or one asked for more than it has left goes
        through :meth:`reverse`, with that member's other reversals
        (:mod:`loyalty.ledger.bulk_reversal`).
        """
        return bulk_reversal.reverse_many(self._conn, self._now(), reversals)

    # ------------------------------------------------------------------ lock

    def hold(self, member_id: int) -> None:
        """Lock the member's accounts until the transaction ends.

        For callers that read before they post: the earning pipeline holds
        the member while rules count earlier orders and awards, so two
        events for one member cannot both see "first order".
        """
        lock(self._conn, member_id)

    def hold_many(self, member_ids) -> dict[int, LockedAccounts]:
        """Lock many members' accounts at once, in account id order: their accounts by member id.

        A worker's batch holds all its members before it reads their
        history, as :meth:`hold` does for one.
        """
        return lock_many(self._conn, member_ids)

    # ----------------------------------------------------------------- reads

    def balances(self, member_id: int) -> dict[str, int]:
        """The member's cached balances, by account kind."""
        rows = self._conn.execute(sql.MEMBER_ACCOUNTS, {"member_id": member_id}).all()
        return {row.kind: row.balance for row in rows}

    def load(self, entry_id: int, *, replayed: bool = False) -> Receipt:
        """The receipt of an entry already posted."""
        return load_receipt(self._conn, entry_id, replayed=replayed)

    # --------------------------------------------------------------- helpers

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
        return self._system.id(self._conn, program_id, kind)
