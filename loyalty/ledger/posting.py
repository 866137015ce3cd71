"""The ledger service: the only code that moves points.

Every operation follows the same steps, in this order:

1. lock the member's accounts (``SELECT … FOR UPDATE``; on SQLite the
   transaction already holds the single write lock);
2. look up the idempotency key: a repeat of the same request returns the
   first result (``replayed=True``), another request under the same key is
   an :class:`~loyalty.errors.IdempotencyConflict`;
3. check the request against the balances it just locked;
4. write the entry, its transfers, the lots and the member's cached
   balances.

Checks come before writes, so a refused request has written nothing. The
caller owns the transaction: the ledger never commits, so a service can
post several entries (or an order and its points) atomically.

Writes use SQLAlchemy Core statements rather than the ORM unit of work:
they are the hot path (see ``bench/ledger.py``), and the ORM objects of
the ledger tables are only ever read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock, current_clock
from loyalty.ledger import lots as lot_book
from loyalty.models import Account, Entry, Lot, Member, Program, Transfer
from loyalty.types import utc

accounts = Account.__table__
entries = Entry.__table__
transfers = Transfer.__table__
lots = Lot.__table__

#: Entry kinds that :meth:`Ledger.reverse` accepts. Releases are internal
#: moves and reversals are not reversed again: post a new entry instead.
REVERSIBLE_KINDS = ("earn", "adjust", "redeem", "expire")

#: Larger amounts are refused as input errors rather than risking overflow
#: in sums: a trillion points is far beyond any real program.
MAX_AMOUNT = 10**12


@dataclass(frozen=True)
class TransferLine:
    id: int
    from_account_id: int
    to_account_id: int
    amount: int


@dataclass(frozen=True)
class Posting:
    """What an operation did. ``replayed`` is true when the key was seen before."""

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
    """A member's accounts, locked for this transaction."""

    member_id: int
    program_id: int
    ids: dict[str, int]
    balances: dict[str, int]

    def credit(self, kind: str, amount: int) -> None:
        self.balances[kind] += amount

    def debit(self, kind: str, amount: int) -> None:
        self.balances[kind] -= amount


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
    if len(key) > 255:
        raise errors.InvalidInput("the idempotency key is longer than 255 characters")
    return key


def _iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat() if moment is not None else None


def request_hash(request: dict) -> str:
    """A stable fingerprint of what an operation was asked to do."""
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
    ) -> Posting:
        """Issue points to the member: to ``pending`` (until ``release_at``) or ``available``."""
        _check_amount(amount)
        _check_key(key)
        if release_at is not None and not pending:
            raise errors.InvalidInput("release_at only applies to pending points")
        request = {
            "op": "earn",
            "member": member.id,
            "amount": amount,
            "pending": pending,
            "release_at": _iso(release_at),
            "expires_at": _iso(expires_at),
            "source": list(source) if source else None,
        }
        held = self._lock(member.id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        self._require_active(member)
        target = "pending" if pending else "available"
        now = self.clock.now()
        entry_id = self._insert_entry(
            held, "earn", amount, key, request, reason=reason, actor=actor, source=source
        )
        line = self._move(held, entry_id, self._system_account(held.program_id, "issued"), target, amount)
        lot_book.open_lot(
            self.session,
            program_id=held.program_id,
            account_id=held.ids[target],
            entry_id=entry_id,
            transfer_id=line.id,
            amount=amount,
            balance_before=held.balances[target] - amount,
            now=now,
            expires_at=expires_at,
            release_at=release_at,
        )
        return Posting(entry_id, "earn", amount, 0, (line,))

    # --------------------------------------------------------------- release

    def release_lot(self, lot_id: int, *, key: str | None = None) -> Posting | None:
        """Move what is left of a pending lot to ``available``.

        Returns ``None`` when nothing is left to release (already released,
        or clawed back by a refund).
        """
        owner = self.session.execute(
            select(accounts.c.member_id, accounts.c.kind)
            .join(lots, lots.c.account_id == accounts.c.id)
            .where(lots.c.id == lot_id)
        ).first()
        if owner is None or owner.kind != "pending":
            raise errors.InvalidInput(f"lot {lot_id} is not a pending lot")
        key = _check_key(key or f"release:lot:{lot_id}")
        request = {"op": "release", "lot": lot_id}
        held = self._lock(owner.member_id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        lot = self.session.execute(
            select(lots.c.remaining, lots.c.expires_at).where(lots.c.id == lot_id)
        ).one()
        if lot.remaining == 0:
            return None
        amount = lot.remaining
        entry_id = self._insert_entry(
            held, "release", amount, key, request, actor="ledger", source=("lot", str(lot_id))
        )
        line = self._move(held, entry_id, held.ids["pending"], "available", amount, from_member="pending")
        lot_book.consume(
            self.session,
            line.id,
            amount,
            [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)],
        )
        lot_book.open_lot(
            self.session,
            program_id=held.program_id,
            account_id=held.ids["available"],
            entry_id=entry_id,
            transfer_id=line.id,
            amount=amount,
            balance_before=held.balances["available"] - amount,
            now=self.clock.now(),
            expires_at=lot.expires_at,
        )
        return Posting(entry_id, "release", amount, 0, (line,))

    def release_due(self, program_id: int) -> list[Posting]:
        """Release every pending lot of the program whose release date has come."""
        due = self.session.scalars(
            select(lots.c.id)
            .join(accounts, accounts.c.id == lots.c.account_id)
            .where(
                lots.c.program_id == program_id,
                accounts.c.kind == "pending",
                lots.c.remaining > 0,
                lots.c.release_at <= self.clock.now(),
            )
            .order_by(lots.c.id)
        ).all()
        return [p for p in (self.release_lot(lot_id) for lot_id in due) if p is not None]

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
    ) -> Posting:
        """Spend available points, soonest-expiring lots first. Never below zero."""
        _check_amount(amount)
        _check_key(key)
        request = {
            "op": "redeem",
            "member": member.id,
            "amount": amount,
            "source": list(source) if source else None,
        }
        held = self._lock(member.id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        self._require_active(member)
        self._require_balance(held, amount)
        entry_id = self._insert_entry(
            held, "redeem", amount, key, request, reason=reason, actor=actor, source=source
        )
        line = self._move(
            held, entry_id, held.ids["available"], self._system_account(held.program_id, "redeemed"),
            amount, from_member="available",
        )
        lot_book.consume(self.session, line.id, amount, lot_book.open_lots(self.session, held.ids["available"]))
        return Posting(entry_id, "redeem", amount, 0, (line,))

    # ---------------------------------------------------------------- expire

    def expire_lot(self, lot_id: int, *, key: str | None = None) -> Posting | None:
        """Expire what is left of an available lot whose expiry date has passed."""
        owner = self.session.execute(
            select(accounts.c.member_id, accounts.c.kind)
            .join(lots, lots.c.account_id == accounts.c.id)
            .where(lots.c.id == lot_id)
        ).first()
        if owner is None or owner.kind != "available":
            raise errors.InvalidInput(f"lot {lot_id} is not an available lot")
        key = _check_key(key or f"expire:lot:{lot_id}")
        request = {"op": "expire", "lot": lot_id}
        held = self._lock(owner.member_id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        lot = self.session.execute(
            select(lots.c.remaining, lots.c.expires_at).where(lots.c.id == lot_id)
        ).one()
        if lot.remaining == 0:
            return None
        if lot.expires_at is None or lot.expires_at > self.clock.now():
            raise errors.InvalidInput(f"lot {lot_id} has not expired")
        amount = lot.remaining
        entry_id = self._insert_entry(
            held, "expire", amount, key, request, actor="ledger", source=("lot", str(lot_id))
        )
        line = self._move(
            held, entry_id, held.ids["available"], self._system_account(held.program_id, "expired"),
            amount, from_member="available",
        )
        lot_book.consume(
            self.session, line.id, amount, [lot_book.OpenLot(lot_id, amount, lot.expires_at, None)]
        )
        return Posting(entry_id, "expire", amount, 0, (line,))

    def expire_due(self, program_id: int) -> list[Posting]:
        """Expire every available lot of the program whose expiry date has passed."""
        due = self.session.scalars(
            select(lots.c.id)
            .join(accounts, accounts.c.id == lots.c.account_id)
            .where(
                lots.c.program_id == program_id,
                accounts.c.kind == "available",
                lots.c.remaining > 0,
                lots.c.expires_at <= self.clock.now(),
            )
            .order_by(lots.c.id)
        ).all()
        return [p for p in (self.expire_lot(lot_id) for lot_id in due) if p is not None]

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
    ) -> Posting:
        """A manual correction by a person: ``amount`` > 0 credits, < 0 debits.

        A reason and an actor are required: adjustments are what auditors ask about.
        """
        if isinstance(amount, int) and not isinstance(amount, bool) and amount < 0:
            _check_amount(-amount)
        else:
            _check_amount(amount)
        _check_key(key)
        if not reason or not reason.strip():
            raise errors.InvalidInput("an adjustment needs a reason")
        if not actor or not actor.strip():
            raise errors.InvalidInput("an adjustment needs an actor (who made it)")
        request = {"op": "adjust", "member": member.id, "amount": amount, "expires_at": _iso(expires_at)}
        held = self._lock(member.id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        system = self._system_account(held.program_id, "adjustments")
        if amount > 0:
            entry_id = self._insert_entry(held, "adjust", amount, key, request, reason=reason, actor=actor)
            line = self._move(held, entry_id, system, "available", amount)
            lot_book.open_lot(
                self.session,
                program_id=held.program_id,
                account_id=held.ids["available"],
                entry_id=entry_id,
                transfer_id=line.id,
                amount=amount,
                balance_before=held.balances["available"] - amount,
                now=self.clock.now(),
                expires_at=expires_at,
            )
        else:
            self._require_balance(held, -amount)
            entry_id = self._insert_entry(held, "adjust", -amount, key, request, reason=reason, actor=actor)
            line = self._move(held, entry_id, held.ids["available"], system, -amount, from_member="available")
            lot_book.consume(
                self.session, line.id, -amount, lot_book.open_lots(self.session, held.ids["available"])
            )
        return Posting(entry_id, "adjust", abs(amount), 0, (line,))

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
    ) -> Posting:
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
        query = select(entries).where(entries.c.id == entry_id)
        if program_id is not None:
            query = query.where(entries.c.program_id == program_id)
        original = self.session.execute(query).first()
        if original is None:
            raise errors.UnknownEntry(f"no ledger entry {entry_id}" + (" in this program" if program_id else ""))
        if original.kind not in REVERSIBLE_KINDS or original.member_id is None:
            raise errors.NotReversible(
                f"entry {entry_id} is a {original.kind}; only {', '.join(REVERSIBLE_KINDS)} entries can be reversed"
            )
        request = {"op": "reverse", "entry": entry_id, "amount": amount, "expires_at": _iso(expires_at)}
        held = self._lock(original.member_id)
        replay = self._replay(held.program_id, key, request)
        if replay:
            return replay
        already = self.session.execute(
            select(func.coalesce(func.sum(entries.c.amount), 0)).where(entries.c.reverses_id == entry_id)
        ).scalar_one()
        left = original.amount - already
        if left <= 0:
            raise errors.ReversalExceeded(f"entry {entry_id} has already been fully reversed")
        if amount is None:
            amount = left
        if amount > left:
            raise errors.ReversalExceeded(
                f"entry {entry_id} has {left} points left to reverse; {amount} were asked",
                left=left,
            )
        (orig,) = self.session.execute(select(transfers).where(transfers.c.entry_id == entry_id)).all()
        member_accounts = {v: k for k, v in held.ids.items()}
        if orig.to_account_id in member_accounts:
            return self._claw_back(held, original, orig, member_accounts[orig.to_account_id], amount, key, request, reason, actor)
        return self._give_back(held, original, orig, amount, key, request, reason, actor, expires_at)

    def _claw_back(self, held, original, orig, credited, amount, key, request, reason, actor) -> Posting:
        system = orig.from_account_id
        from_pending = 0
        pending_lots: list[lot_book.OpenLot] = []
        if credited == "pending":
            pending_lots = lot_book.open_lots(self.session, held.ids["pending"], entry_id=original.id)
            from_pending = min(amount, sum(lot.remaining for lot in pending_lots))
        rest = amount - from_pending
        available = held.balances["available"]
        if rest <= available or self._policy(held.program_id) == "allow_negative":
            from_available = rest
        else:
            from_available = max(available, 0)
        shortfall = rest - from_available
        entry_id = self._insert_entry(
            held, "reverse", amount, key, request, reason=reason, actor=actor,
            reverses_id=original.id, shortfall=shortfall,
        )
        lines = []
        if from_pending:
            line = self._move(held, entry_id, held.ids["pending"], system, from_pending, from_member="pending")
            lot_book.consume(self.session, line.id, from_pending, pending_lots)
            lines.append(line)
        if from_available:
            line = self._move(held, entry_id, held.ids["available"], system, from_available, from_member="available")
            lot_book.consume(
                self.session, line.id, from_available, lot_book.open_lots(self.session, held.ids["available"])
            )
            lines.append(line)
        return Posting(entry_id, "reverse", amount, shortfall, tuple(lines))

    def _give_back(self, held, original, orig, amount, key, request, reason, actor, expires_at) -> Posting:
        if expires_at is None and original.kind != "expire":
            expires_at = self._latest_expiry_consumed(orig.id)
        entry_id = self._insert_entry(
            held, "reverse", amount, key, request, reason=reason, actor=actor, reverses_id=original.id
        )
        line = self._move(held, entry_id, orig.to_account_id, "available", amount)
        lot_book.open_lot(
            self.session,
            program_id=held.program_id,
            account_id=held.ids["available"],
            entry_id=entry_id,
            transfer_id=line.id,
            amount=amount,
            balance_before=held.balances["available"] - amount,
            now=self.clock.now(),
            expires_at=expires_at,
        )
        return Posting(entry_id, "reverse", amount, 0, (line,))

    def _latest_expiry_consumed(self, transfer_id: int) -> datetime | None:
        """The latest expiry among the lots a transfer took points from (None: never)."""
        rows = self.session.execute(
            select(lots.c.expires_at)
            .join(lot_book.consumptions, lot_book.consumptions.c.lot_id == lots.c.id)
            .where(lot_book.consumptions.c.transfer_id == transfer_id)
        ).scalars().all()
        if not rows or any(r is None for r in rows):
            return None
        return max(rows)

    # ----------------------------------------------------------------- reads

    def balances(self, member_id: int) -> dict[str, int]:
        """The member's cached balances, by account kind."""
        rows = self.session.execute(
            select(accounts.c.kind, accounts.c.balance).where(accounts.c.member_id == member_id)
        ).all()
        return {kind: balance for kind, balance in rows}

    def load(self, entry_id: int, *, replayed: bool = False) -> Posting:
        entry = self.session.execute(select(entries).where(entries.c.id == entry_id)).one()
        lines = tuple(
            TransferLine(t.id, t.from_account_id, t.to_account_id, t.amount)
            for t in self.session.execute(
                select(transfers).where(transfers.c.entry_id == entry_id).order_by(transfers.c.id)
            )
        )
        return Posting(entry.id, entry.kind, entry.amount, entry.shortfall, lines, replayed)

    # --------------------------------------------------------------- helpers

    def _lock(self, member_id: int) -> _Held:
        query = (
            select(accounts.c.id, accounts.c.kind, accounts.c.balance, accounts.c.program_id)
            .where(accounts.c.member_id == member_id)
            .order_by(accounts.c.id)
        )
        if self._dialect == "postgresql":
            query = query.with_for_update()
        rows = self.session.execute(query).all()
        if not rows:
            raise errors.UnknownMember(f"no member with id {member_id}")
        return _Held(
            member_id=member_id,
            program_id=rows[0].program_id,
            ids={r.kind: r.id for r in rows},
            balances={r.kind: r.balance for r in rows},
        )

    def _replay(self, program_id: int, key: str, request: dict) -> Posting | None:
        found = self.session.execute(
            select(entries.c.id, entries.c.request_hash).where(
                entries.c.program_id == program_id, entries.c.idempotency_key == key
            )
        ).first()
        if found is None:
            return None
        if found.request_hash != request_hash(request):
            raise errors.IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different request (entry {found.id})",
                entry_id=found.id,
            )
        return self.load(found.id, replayed=True)

    def _insert_entry(
        self,
        held: _Held,
        kind: str,
        amount: int,
        key: str,
        request: dict,
        *,
        reason: str | None = None,
        actor: str | None = None,
        source: tuple[str, str] | None = None,
        reverses_id: int | None = None,
        shortfall: int = 0,
    ) -> int:
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(entries)
            .values(
                program_id=held.program_id,
                member_id=held.member_id,
                kind=kind,
                amount=amount,
                shortfall=shortfall,
                idempotency_key=key,
                request_hash=request_hash(request),
                reason=reason,
                actor=actor,
                source_type=source[0] if source else None,
                source_id=source[1] if source else None,
                reverses_id=reverses_id,
                created_at=self.clock.now(),
            )
            .on_conflict_do_nothing(index_elements=["program_id", "idempotency_key"])
            .returning(entries.c.id)
        )
        entry_id = self.session.execute(statement).scalar()
        if entry_id is None:
            # Another transaction took the key between our look-up and now:
            # only possible for a request on another member, so a conflict.
            raise errors.IdempotencyConflict(
                f"idempotency key {key!r} was just used by a concurrent request"
            )
        return entry_id

    def _move(
        self,
        held: _Held,
        entry_id: int,
        from_account: int,
        to: str | int,
        amount: int,
        *,
        from_member: str | None = None,
    ) -> TransferLine:
        """Insert one transfer and update the member's cached balances.

        ``to`` is a member account kind or a system account id; ``from_member``
        names the member account kind when the source is the member's.
        """
        to_account = held.ids[to] if isinstance(to, str) else to
        transfer_id = self.session.execute(
            insert(transfers)
            .values(
                program_id=held.program_id,
                entry_id=entry_id,
                from_account_id=from_account,
                to_account_id=to_account,
                amount=amount,
                created_at=self.clock.now(),
            )
            .returning(transfers.c.id)
        ).scalar_one()
        if from_member:
            self._bump(held.ids[from_member], -amount)
            held.debit(from_member, amount)
        if isinstance(to, str):
            self._bump(to_account, amount)
            held.credit(to, amount)
        return TransferLine(transfer_id, from_account, to_account, amount)

    def _bump(self, account_id: int, delta: int) -> None:
        self.session.execute(
            update(accounts).where(accounts.c.id == account_id).values(balance=accounts.c.balance + delta)
        )

    def _system_account(self, program_id: int, kind: str) -> int:
        if program_id not in self._system:
            rows = self.session.execute(
                select(accounts.c.kind, accounts.c.id).where(
                    accounts.c.program_id == program_id, accounts.c.member_id.is_(None)
                )
            ).all()
            self._system[program_id] = {k: i for k, i in rows}
        return self._system[program_id][kind]

    def _policy(self, program_id: int) -> str:
        return self.session.execute(
            select(Program.clawback_policy).where(Program.id == program_id)
        ).scalar_one()

    @staticmethod
    def _require_active(member: Member) -> None:
        if member.status != "active":
            raise errors.MemberNotActive(f"member {member.external_id} is {member.status}")

    @staticmethod
    def _require_balance(held: _Held, amount: int) -> None:
        available = held.balances["available"]
        if amount > available:
            raise errors.InsufficientPoints(
                f"the member has {available} points available; {amount} were asked",
                available=available,
                requested=amount,
            )
