"""A store's side of the member API: its widget switched on, and member tokens made as its server makes them.

Used by the member API's tests and the widget's browser tests.
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt

from loyalty.widget.settings import enable
from loyalty.widget.tokens import digest, digest_token, make_jwt

MEMBER = "/member/v1"
ORIGIN = "https://shop.example"


def enable_widget(session, program, clock, *, origins=(ORIGIN,)) -> str:
    """Switch the program's widget on for ``origins``; its secret."""
    secret = enable(session, program, origins=list(origins), clock=clock)
    session.commit()
    return secret


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def jwt_for(secret: str, external_id: str, clock, **claims) -> str:
    """A JWT as a store's server makes one with PyJWT; ``claims`` add to or replace the usual ones."""
    if not claims:
        return make_jwt(secret, external_id, clock=clock)
    now = int(clock.now().timestamp())
    payload = {"sub": external_id, "iat": now, "exp": now + 3600, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm="HS256")


def digest_for(secret: str, external_id: str, clock, *, age: timedelta = timedelta(0)) -> str:
    """The digest form, as a Liquid or PHP template computes it, ``age`` ago."""
    timestamp = int((clock.now() - age).timestamp()) if clock is not None else int(time.time())
    return digest_token(external_id, timestamp, digest(secret, external_id, timestamp))
