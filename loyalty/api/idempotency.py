"""``Idempotency-Key`` for writes that move points.

The first request with a key runs and its response is stored with a
fingerprint of the request (method, path, body), in the same transaction
as the write itself. A repeat with the same key and body gets that
response back (with ``Idempotent-Replayed: true``) and changes nothing; a
repeat with another body is a 409 ``idempotency_conflict``. Two requests
with one key at once: the unique index makes the second wait for the
first and then replay it. Keys are per program.
"""

from __future__ import annotations

import functools
import hashlib

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger import MAX_KEY_LENGTH
from loyalty.models import ApiIdempotentRequest

HEADER = "Idempotency-Key"

#: For the OpenAPI document of the endpoints that take the header.
PARAMETER = {
    "in": "header",
    "name": HEADER,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": "Makes the request safe to retry: the same key and body answer the first response again.",
}


def key_from_request(*, required: bool, max_length: int = MAX_KEY_LENGTH) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            abort(422, code="idempotency_key_required", message=f"this request needs an {HEADER} header")
        return None
    key = key.strip()
    if not key or len(key) > max_length:
        abort(422, code="invalid_idempotency_key", message=f"the {HEADER} must be 1 to {max_length} characters")
    return key


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def idempotent(*, required: bool, scope=None, max_length: int = MAX_KEY_LENGTH):
    """Wrap a write view, right under ``@blp.route`` (outside flask-smorest's other
    decorators, so it sees the serialized response): replay on the key, commit the write,
    and retry once when a concurrent request committed the same thing first.

    ``scope``, a function of no arguments, gives a prefix that keeps callers'
    keys apart where one program has several (the member API's members: one
    member's key must never replay another member's answer).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            prefix = scope() if scope is not None else ""
            key = key_from_request(required=required, max_length=min(max_length, MAX_KEY_LENGTH - len(prefix)))
            if key is not None:
                key = prefix + key
            for attempt in (1, 2):
                replay = _replay(key) if key is not None else None
                if replay is not None:
                    return replay
                try:
                    response = view(*args, **kwargs)
                    if key is not None:
                        db.session.add(
                            ApiIdempotentRequest(
                                program_id=g.program.id,
                                idempotency_key=key,
                                request_hash=_fingerprint(),
                                status_code=response.status_code,
                                response=response.get_json(),
                                created_at=current_clock().now(),
                            )
                        )
                    db.session.commit()
                    return response
                except IntegrityError:
                    # A concurrent request committed the same thing first (this key, this
                    # member, this event): once more, now seeing its result (a replay, an
                    # existing member, a duplicate event) instead of answering 500.
                    db.session.rollback()
                    if attempt == 2:
                        raise

        return wrapper

    return decorate


def _replay(key: str):
    stored = db.session.scalar(
        select(ApiIdempotentRequest).where(
            ApiIdempotentRequest.program_id == g.program.id, ApiIdempotentRequest.idempotency_key == key
        )
    )
    if stored is None:
        return None
    if stored.request_hash != _fingerprint():
        db.session.rollback()
        abort(
            409, code="idempotency_conflict", message=f"the {HEADER} {key!r} was already used for a different request"
        )
    response = current_app.json.response(stored.response)
    response.status_code = stored.status_code
    response.headers["Idempotent-Replayed"] = "true"
    db.session.rollback()
    return response
