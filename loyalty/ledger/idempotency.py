"""Idempotency: the key an operation is posted under, its fingerprint, and claiming the key.

Step 3 of every operation (see :mod:`loyalty.ledger.posting`) claims the
key by inserting the entry with ``INSERT … ON CONFLICT DO NOTHING``. The
outcome is a :class:`Claim`: a new entry, or the receipt already posted
under the key (a replay) when the request is the same; a different request
under a taken key is an :class:`~loyalty.errors.IdempotencyConflict`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from loyalty import errors
from loyalty.ledger import statements as sql
from loyalty.ledger.receipts import Receipt, load_receipt
from loyalty.types import utc

#: The longest idempotency key, here and wherever a caller's key is taken
#: (the API's ``Idempotency-Key``, redemptions): the columns hold 255.
MAX_KEY_LENGTH = 255


def check_key(key) -> str:
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


def request_hash(request: dict) -> str:
    """A stable fingerprint of what an operation was asked to do.

    It covers what decides the effect on balances (member, amount, dates,
    source), not the free-text reason or the actor: retrying with a
    corrected reason is still the same request.
    """
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """A date as a request's fields hold it: the same instant is the same fingerprint in any time zone."""
    return utc(moment).isoformat() if moment is not None else None


@dataclass(frozen=True)
class Request:
    """An operation's idempotency key and the fingerprint of what it asks (see :func:`request_hash`)."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, fields: dict) -> Request:
        return cls(key, request_hash(fields))


def lot_request(kind: str, lot_id: int, key: str | None = None) -> Request:
    """Releasing or expiring one lot: ``release:lot:<id>`` / ``expire:lot:<id>`` unless a key is given.

    The one-lot methods and the sweeps both build their requests here, so
    each replays what the other posted.
    """
    return Request.of(check_key(key or f"{kind}:lot:{lot_id}"), {"op": kind, "lot": lot_id})


@dataclass(frozen=True)
class Claim:
    """The entry under a claimed key: a new one (``replay`` is None), or the earlier one's receipt."""

    entry_id: int
    replay: Receipt | None = None


def claim(conn: Connection, entry: dict, request: Request) -> Claim:
    """Insert ``entry`` (a row from :func:`loyalty.ledger.rows.entry_row`) under the request's key."""
    statement = sql.CLAIM_ENTRY["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    entry_id = conn.execute(statement, entry).scalar()
    if entry_id is not None:
        return Claim(entry_id)
    replay = taken(conn, entry["program_id"], request)
    return Claim(replay.entry_id, replay)


def find(conn: Connection, program_id: int, request: Request) -> Receipt | None:
    """The entry already posted under this request's key, if any (or a conflict)."""
    found = conn.execute(sql.FIND_ENTRY, {"program_id": program_id, "key": request.key}).first()
    if found is None:
        return None
    if found.request_hash != request.fingerprint:
        raise errors.IdempotencyConflict(
            f"idempotency key {request.key!r} was already used for a different request (entry {found.id})",
            entry_id=found.id,
        )
    return load_receipt(conn, found.id, replayed=True)


def refuse(conn: Connection, program_id: int, request: Request, error: errors.LoyaltyError) -> Receipt:
    """Raise ``error``, unless this request was posted before: then it is a replay."""
    replay = find(conn, program_id, request)
    if replay is None:
        raise error
    return replay


def taken(conn: Connection, program_id: int, request: Request) -> Receipt:
    """The key was taken: the replay, or a conflict."""
    replay = find(conn, program_id, request)
    if replay is None:  # taken and gone again: only if the other writer rolled back
        raise errors.IdempotencyConflict(f"idempotency key {request.key!r} is being used by a concurrent request")
    return replay
