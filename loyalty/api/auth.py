"""Who is calling: the program's API key, from ``Authorization: Bearer …``.

Checked before every API request. The key decides the program: every
query of a resource is scoped to ``g.program``, so a key of one program
cannot reach another's data (another program's member is simply not
found: 404, never 403, so a key cannot even learn that it exists).
Reading needs the ``read`` scope, writing ``write``.
"""

from __future__ import annotations

from flask import g, request
from flask_smorest import abort

from loyalty.access.api_keys import authenticate
from loyalty.clock import current_clock
from loyalty.db import db

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def require_api_key() -> None:
    """A ``before_request`` hook for the API blueprints."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    key = authenticate(db.session, presented.strip(), clock=current_clock()) if scheme.lower() == "bearer" else None
    if key is None:
        db.session.rollback()
        abort(
            401,
            code="unauthorized",
            message="a valid API key is required: Authorization: Bearer lk_…",
            headers={"WWW-Authenticate": "Bearer"},
        )
    needed = "read" if request.method in READ_METHODS else "write"
    if needed not in key.scope_list:
        db.session.rollback()
        abort(403, code="insufficient_scope", message=f"this API key lacks the {needed!r} scope")
    g.api_key = key
    g.program = key.program  # read with the key


def actor() -> str:
    """Who the ledger records as having made a change through the API."""
    return f"api:{g.api_key.name}"[:100]
