"""``POST /webhooks/<program>/<storefront>``: a store's delivery, verified, stored, then processed.

Answers (all JSON):

* 200 ``processed`` / ``ignored`` / ``duplicate`` / ``failed`` (stored and
  shown in the inbox; the store need not retry), 202 ``deferred`` (stored;
  the platform retries it), 200 ``ping``; with ``WEBHOOK_PROCESSING =
  "queued"``, 202 ``queued`` as soon as the delivery is stored (``loyalty
  worker`` processes it);
* 401 missing or bad signature: nothing is stored;
* 400 malformed (not JSON, no delivery id, a payload the adapter cannot
  read): nothing is stored;
* 413 over ``WEBHOOK_MAX_BYTES`` (1 MiB by default): nothing is read further;
* 404 unknown program, or no such storefront connected to it;
* 202 ``deferred`` with ``error: internal_error`` when processing crashed
  (a bug, say in a plugin's rule): the delivery is kept with the error and
  retried with backoff by the inbox, then ``failed`` and shown in the admin;
* 500 only when the database cannot be reached (or rolled the work back, a
  deadlock): the delivery stays stored as ``received`` and the store's
  retry (or ``loyalty inbox retry``) completes it.

A validly signed delivery that cannot be read (not JSON, nested thousands
deep, a field of the wrong type, an amount or an id that does not fit) is
answered 400 before anything is stored (:mod:`loyalty.webhooks.reading`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from loyalty import errors
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import Program, Storefront
from loyalty.outage import is_outage
from loyalty.registry import current_registry
from loyalty.storefronts.adapters import WebhookRequest
from loyalty.webhooks import inbox, reading

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: The storefront a delivery is for: built once, and plain columns rather
#: than ORM objects, because it runs on every request.
FIND_STOREFRONT = (
    select(Storefront.id, Storefront.program_id, Storefront.secret)
    .join(Program, Storefront.program_id == Program.id)
    .where(Program.slug == bindparam("slug"), Storefront.type == bindparam("type"))
)


def _answer(status_code: int, status: str, message: str = "", **extra):
    body = {"status": status, **extra}
    if message:
        body["message"] = message
    return jsonify(body), status_code


def _error(status_code: int, code: str, message: str):
    return jsonify({"status": "error", "code": code, "message": message}), status_code


def _read_body(limit: int) -> bytes | None:
    """The raw body, or None if it is larger than ``limit`` (without reading all of it)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = request.stream.read(limit + 1)
    return None if len(body) > limit else body


def _connection():
    """The intake's connection: on PostgreSQL in autocommit, so that each of its statements is one round trip.

    The storefront is read and the delivery stored by one statement each,
    and the insert (``ON CONFLICT DO NOTHING``) is whole on its own, so a
    transaction around them would only add a ``BEGIN`` and a ``COMMIT``:
    two of five round trips per delivery. SQLite keeps its transaction
    (``BEGIN IMMEDIATE``, :mod:`loyalty.db`), which costs no round trip.
    """
    conn = db.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


@bp.errorhandler(Exception)
def _crashed(exc):
    """An unexpected error: JSON 500 (no stack trace) so the store retries; a stored delivery stays ``received``."""
    if isinstance(exc, HTTPException):
        return exc
    db.session.rollback()
    log.exception("webhook intake failed unexpectedly")
    return _error(500, "internal_error", "the delivery could not be processed now; please retry")


@bp.post("/<program_slug>/<storefront_type>")
def receive(program_slug: str, storefront_type: str):
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    body = _read_body(limit)
    if body is None:
        return _error(413, "too_large", f"the body is larger than {limit} bytes")
    adapter = current_registry().storefronts.get(storefront_type)
    if adapter is None or "\x00" in program_slug:  # no program's slug has a NUL (nor may the database see one)
        return _error(404, "not_found", f"no storefront {storefront_type!r} connected to program {program_slug!r}")
    # Checking and storing use a plain connection, not the ORM session:
    # they run for every delivery, and the session's bookkeeping would cost
    # more than the two statements. Nothing is written before the insert, so
    # an early answer leaves nothing behind (on SQLite the block rolls back).
    with _connection() as conn:
        storefront = conn.execute(FIND_STOREFRONT, {"slug": program_slug, "type": storefront_type}).first()
        if storefront is None:
            return _error(404, "not_found", f"no storefront {storefront_type!r} connected to program {program_slug!r}")
        webhook = WebhookRequest(dict(request.headers), body, current_clock().now())
        if adapter.is_ping(webhook):
            return _answer(200, "ping")
        try:
            adapter.verify(webhook, storefront.secret)
        except errors.SignatureInvalid as exc:
            log.info("webhook refused for %s/%s: %s", program_slug, storefront_type, exc.message)
            return _error(401, exc.code, exc.message)
        try:
            # A payload that cannot be read is refused before it is stored (see webhooks/reading.py).
            delivery_id = reading.delivery_id_of(adapter, webhook)
            events = reading.events_of(adapter, webhook)
            topic = reading.topic_of(adapter, webhook)
        except errors.LoyaltyError as exc:
            return _error(400, exc.code, exc.message)
        row_id, fresh = inbox.store(conn, storefront, adapter, webhook, delivery_id, topic)
        conn.commit()  # durable before any processing
    if current_app.config["WEBHOOK_PROCESSING"] == "queued":
        return _answer(202, "queued", delivery=row_id) if fresh else _answer(200, "duplicate", delivery=row_id)
    # A repeat of a delivery still waiting (stored before a crash, or
    # deferred) is processed again; any other repeat is a duplicate.
    max_attempts = current_app.config["WEBHOOK_MAX_ATTEMPTS"]
    for attempt in (1, 2):
        try:
            delivery, acted = inbox.process_delivery(
                db.session,
                row_id,
                registry=current_registry(),
                max_attempts=max_attempts,
                parsed=events,
            )
            break
        except IntegrityError:
            # Another delivery committed the same new row first (two orders of one new
            # customer enrolling them, or attributing them to a referrer): once more,
            # now finding that row, rather than a 500 and a retry from the store.
            db.session.rollback()
            if attempt == 2:
                raise
        except Exception as exc:
            if is_outage(exc) or isinstance(exc, (OperationalError, InterfaceError)):
                raise  # the database is unreachable or gave up (a deadlock): 500, and the store retries
            # A bug (in a plugin's rule, say) that the same delivery would hit on every retry: the
            # inbox records it and retries it with backoff, rather than the store retrying into a 500.
            db.session.rollback()
            log.exception("webhook delivery %s could not be processed", row_id)
            crashed = inbox.record_crash(db.session, row_id, exc, clock=current_clock(), max_attempts=max_attempts)
            retried = crashed.status == "deferred"
            return _answer(
                202 if retried else 200,
                crashed.status,
                delivery=row_id,
                error="internal_error: the platform could not process this delivery; it is kept "
                + ("and retried" if retried else "in the inbox as failed"),
            )
    status = delivery.status if acted or fresh else "duplicate"
    extra = {"delivery": delivery.id}
    if delivery.last_error:
        extra["error"] = delivery.last_error
    if delivery.note:
        extra["note"] = delivery.note
    return _answer(202 if status == "deferred" else 200, status, **extra)
