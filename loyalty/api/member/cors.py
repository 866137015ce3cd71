"""CORS for the member API: only the program's own store origins may read its answers in a browser.

Written here rather than with Flask-CORS because the allowed origins are
per program and live in the database (a store adds its domain in the
admin, and the next request honours it): Flask-CORS takes its origins at
start-up. The rules are the few the Fetch standard sets: answer a
preflight (``OPTIONS``) without a token, echo the request's ``Origin``
only when it is one of the program's, and say ``Vary: Origin`` always, so
no cache hands one store's answer to another.
"""

from __future__ import annotations

from flask import request

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
ALLOWED_METHODS = "GET, POST, PUT"
EXPOSED_HEADERS = "Idempotent-Replayed, Retry-After"
MAX_AGE = "600"


def add_headers(response, origins: list[str]):
    """Set the CORS headers of a member API response for the program's ``origins``."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin is None or origin not in origins:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response
