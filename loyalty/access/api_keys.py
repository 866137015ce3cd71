"""API keys: created for a program, shown once, stored hashed, revocable.

A key reads ``lk_<prefix>_<secret>``: the prefix (8 hex characters) is
stored in clear to find the key and to show which key is which; the whole
key is only ever compared by its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, contains_eager

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import API_SCOPES, ApiKey, Program

#: ``last_used_at`` is written at most this often per key, so reading the
#: API does not turn every request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

PREFIX_LENGTH = len("lk_") + 8


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    #: The full key: shown to the person who created it, then never again.
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, program: Program, *, name: str, scopes=("read", "write"), clock: Clock) -> NewKey:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise errors.InvalidInput("an API key needs a name of at most 100 characters")
    scopes = sorted(set(scopes), key=API_SCOPES.index) if all(s in API_SCOPES for s in scopes) else None
    if not scopes:
        raise errors.InvalidInput(f"scopes must be some of {', '.join(API_SCOPES)}")
    prefix = f"lk_{secrets.token_hex(4)}"
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        program_id=program.id,
        name=name,
        prefix=prefix,
        key_hash=_digest(secret),
        scopes=" ".join(scopes),
        created_at=clock.now(),
    )
    session.add(key)
    session.flush()
    return NewKey(key, secret)


def list_keys(session: Session, program: Program) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.program_id == program.id).order_by(ApiKey.id)))


def revoke_key(session: Session, program: Program, prefix: str, *, clock: Clock) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.program_id == program.id, ApiKey.prefix == prefix))
    if key is None:
        raise errors.NotFound(f"no API key {prefix!r} in program {program.slug}")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.flush()
    return key


#: The key a request presents, by its prefix, with its program (in the same query):
#: built once, as every API request runs it.
KEY_BY_PREFIX = (
    select(ApiKey)
    .join(ApiKey.program)
    .options(contains_eager(ApiKey.program))
    .where(ApiKey.prefix == bindparam("prefix"))
)


def authenticate(session: Session, presented: str, *, clock: Clock) -> ApiKey | None:
    """The active key matching ``presented``, or None (unknown, wrong or revoked: all alike)."""
    presented = presented or ""
    prefix = presented[:PREFIX_LENGTH]
    if not prefix.startswith("lk_") or presented[PREFIX_LENGTH : PREFIX_LENGTH + 1] != "_":
        return None
    key = session.scalar(KEY_BY_PREFIX, {"prefix": prefix})
    if key is None or not hmac.compare_digest(key.key_hash, _digest(presented)) or not key.active:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key
