"""The member API's rate limit: per member (program and customer id), not per address.

A store's shoppers often share an address (a mobile carrier's NAT, an
office), so counting per address would lock many out for one; and a
token is needed to be counted at all, so a limit per member is what a
script hammering with one stolen token meets. Counted with the ``limits``
library (which Flask-Limiter is built on) in the storage the admin's
sign-in limit uses (``RATELIMIT_STORAGE_URI``: the database by default, so
every worker counts together; see :mod:`loyalty.access.rate_limits`).
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from loyalty.access import rate_limits  # noqa: F401  (registers the database:// storage with the limits library)

DEFAULT_LIMIT = "120 per minute"
EXTENSION = "loyalty.member_limiter"


def _limiter() -> FixedWindowRateLimiter:
    limiter = current_app.extensions.get(EXTENSION)
    if limiter is None:
        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI", "database://"))
        limiter = current_app.extensions[EXTENSION] = FixedWindowRateLimiter(storage)
    return limiter


def hit(program_id: int, external_id: str) -> int | None:
    """Count one request of this member; ``None`` if allowed, else the seconds until the window resets."""
    limit = parse(current_app.config.get("MEMBER_RATE_LIMIT", DEFAULT_LIMIT))
    limiter = _limiter()
    # Hashed: an external id may be 255 characters, more than a counter's key column holds with the rest.
    key = f"{program_id}:{hashlib.sha256(external_id.encode()).hexdigest()[:32]}"
    if limiter.hit(limit, "member", key):
        return None
    reset, _ = limiter.get_window_stats(limit, "member", key)
    return max(1, int(reset - time.time()) + 1)
