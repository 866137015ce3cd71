"""The signed one-click unsubscribe link of each member (RFC 8058).

The link names the program and the member and carries an HMAC of both
under the app's ``SECRET_KEY``: it cannot be guessed for another member,
needs no table, and stays valid (an old e-mail's link still works).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def token(secret_key: str, program_slug: str, member_id: int) -> str:
    message = f"unsubscribe:{program_slug}:{member_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def check(secret_key: str, program_slug: str, member_id: int, given: str) -> bool:
    return hmac.compare_digest(token(secret_key, program_slug, member_id), given)


def link(settings: Mapping, program, member) -> str | None:
    """The member's unsubscribe URL, or ``None`` when the platform's public URL is not configured."""
    base = (settings.get("PUBLIC_URL") or "").rstrip("/")
    if not base or member is None:
        return None
    return f"{base}/messages/v1/{program.slug}/unsubscribe/{member.id}/{token(settings['SECRET_KEY'], program.slug, member.id)}"
