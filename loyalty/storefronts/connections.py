"""A program's storefront connections: which stores send it webhooks, with which secret.

The adapters themselves (the contract plugins implement) are in
:mod:`loyalty.storefronts.adapters.adapters`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import Program, Storefront

# --- a program's connections --------------------------------------------------


def add_storefront(
    session: Session,
    program: Program,
    registry,
    *,
    type: str,
    secret: str,
    api_key: str | None = None,
    clock: Clock,
) -> Storefront:
    """Connect a store; a second connection of the same type replaces the secret (rotation).

    ``api_key``: the store's API key, for rewards that call the store (Stripe
    promotion codes); left out, a reconnection keeps the one it had.
    """
    if type not in registry.storefronts:
        known = ", ".join(sorted(registry.storefronts)) or "none"
        raise errors.InvalidInput(f"no storefront adapter {type!r}; installed: {known}")
    secret = (secret or "").strip()
    if not 8 <= len(secret) <= 500:
        raise errors.InvalidInput("the webhook secret must be at least 8 characters (and at most 500)")
    if api_key is not None:
        api_key = api_key.strip()
        if not 8 <= len(api_key) <= 500:
            raise errors.InvalidInput("the API key must be at least 8 characters (and at most 500)")
    now = clock.now()
    storefront = find_storefront(session, program, type)
    if storefront is None:
        storefront = Storefront(
            program_id=program.id, type=type, secret=secret, api_key=api_key, created_at=now, updated_at=now
        )
        session.add(storefront)
    else:
        storefront.secret, storefront.updated_at = secret, now
        if api_key is not None:
            storefront.api_key = api_key
    session.flush()
    return storefront


def find_storefront(session: Session, program: Program, type: str) -> Storefront | None:
    return session.scalar(select(Storefront).where(Storefront.program_id == program.id, Storefront.type == type))


def list_storefronts(session: Session, program: Program) -> list[Storefront]:
    return list(
        session.scalars(select(Storefront).where(Storefront.program_id == program.id).order_by(Storefront.type))
    )
