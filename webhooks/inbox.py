"""The webhook inbox: every delivery is stored and committed before it is processed.

Statuses: ``received`` (stored, not processed yet: a crash here loses
nothing, the store's retry or ``loyalty inbox retry`` completes it),
``processed``, ``ignored`` (a topic the platform does not use),
``deferred`` (its order is not known yet; retried with backoff until
``WEBHOOK_MAX_ATTEMPTS``, then ``failed``), ``failed`` (shown with its
error; ``loyalty inbox replay`` tries again once the cause is fixed).

Processing is idempotent (the pipeline's keys), so a retry or a replay of
a processed delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock, current_clock
from loyalty.earning.batch import process_together
from loyalty.earning.event_checks import storable
from loyalty.earning.pipeline import PipelineCache, process
from loyalty.models import Program, Storefront, WebhookDelivery
from loyalty.outage import is_outage
from loyalty.storefronts.adapters import WebhookRequest
from loyalty.webhooks import reading

log = logging.getLogger(__name__)

deliveries = WebhookDelivery.__table__


@dataclass
class DeliveryCache(PipelineCache):
    """What one transaction's deliveries share: the pipeline's cache, and each storefront's type (its adapter)."""

    #: Storefront id → its type, read once per batch rather than once per delivery.
    storefront_types: dict[int, str] = field(default_factory=dict)


#: First retry after a minute, doubling, at most six hours apart.
BACKOFF_START = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)

RETRYABLE = ("received", "deferred")


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_START * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


#: Insert a delivery unless its id was seen; built once (this runs on every request).
STORE = {
    name: dialect.insert(deliveries)
    .on_conflict_do_nothing(index_elements=["program_id", "storefront_id", "delivery_key"])
    .returning(deliveries.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def delivery_key(delivery_id: str) -> str:
    """What the inbox dedupes on: a SHA-256 of the whole id (ids of any length, told apart whole)."""
    return hashlib.sha256(delivery_id.encode()).hexdigest()


def store(
    conn: Connection, storefront, adapter, request: WebhookRequest, delivery_id: str, topic: str
) -> tuple[int, bool]:
    """Insert the delivery unless its id was seen: ``(row id, is_new)``. The caller commits.

    ``storefront``: anything with the storefront's ``id`` and ``program_id``.
    """
    kept = {name: request.header(name) for name in adapter.stored_headers if request.header(name) is not None}
    key = delivery_key(delivery_id)
    row_id = conn.execute(
        STORE[conn.dialect.name],
        {
            "program_id": storefront.program_id,
            "storefront_id": storefront.id,
            "delivery_id": delivery_id,
            "delivery_key": key,
            "topic": topic[:100],
            "headers": kept,
            "body": request.body,
            "status": "received",
            "attempts": 0,
            "received_at": request.received_at,
        },
    ).scalar()
    if row_id is not None:
        return row_id, True
    existing = conn.scalar(
        select(deliveries.c.id).where(
            deliveries.c.program_id == storefront.program_id,
            deliveries.c.storefront_id == storefront.id,
            deliveries.c.delivery_key == key,
        )
    )
    return existing, False


def process_delivery(
    session: Session,
    delivery_id: int,
    *,
    registry,
    clock: Clock | None = None,
    max_attempts: int = 8,
    force: bool = False,
    parsed: list | None = None,
) -> tuple[Processed, bool]:
    """Process one stored delivery in its own transaction and commit its new status.

    Only ``received`` and ``deferred`` deliveries are processed, unless
    ``force`` (a replay). The row is locked first, so two workers (or a
    store retrying while we work) never process one delivery at once.
    Returns the delivery and whether this call processed it. ``parsed``:
    the events, when the caller (the intake) has just parsed the body.
    """
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if delivery is None:
        raise errors.NotFound(f"no webhook delivery {delivery_id}")
    if delivery.status not in RETRYABLE and not force:
        result = Processed.of(delivery)
        session.commit()
        return result, False
    result = _apply(
        session,
        delivery,
        registry=registry,
        clock=clock or current_clock(),
        max_attempts=max_attempts,
        parsed=parsed,
        cache=DeliveryCache(),
    )
    session.commit()
    return result, True


def process_batch(
    session: Session, *, registry, clock: Clock | None = None, max_attempts: int = 8, limit: int = 100
) -> list[Processed]:
    """Claim up to ``limit`` due deliveries and process them in one transaction.

    What a ``loyalty worker`` does when intake runs queued: the commit, the
    rules and the system accounts are paid once per batch instead of once
    per delivery, and paid orders of known members are posted together
    (:func:`_apply_batch`). On PostgreSQL the claim is ``FOR UPDATE SKIP
    LOCKED``, so several workers share the queue without waiting on each
    other. A delivery processed one by one runs in a savepoint: one that
    fails is marked and the others go on. An unexpected error rolls the batch back and reprocesses its
    deliveries one by one, so one bad delivery cannot hold up the queue;
    the one that crashes is deferred with its error (see :func:`record_crash`).

    A database outage (:func:`loyalty.outage.is_outage`: the connection
    lost, the server refusing, SQLite locked past its timeout) is no
    delivery's fault: it is raised to the caller with nothing marked and
    the batch rolled back whole, still due, for ``loyalty worker`` to try
    again once the database answers (:mod:`loyalty.webhooks.worker`).
    """
    clock = clock or current_clock()
    claim = (
        select(WebhookDelivery)
        .where(_due(clock))
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    batch = session.scalars(claim).all()
    if not batch:
        session.rollback()
        return []
    ids = [delivery.id for delivery in batch]
    cache = DeliveryCache()
    try:
        results = _apply_batch(session, batch, registry=registry, clock=clock, max_attempts=max_attempts, cache=cache)
        session.commit()
        return results
    except Exception as exc:
        _rollback(session, exc)
        log.exception("webhook batch %s..%s failed; processing its deliveries one by one", ids[0], ids[-1])
    return _one_by_one(session, ids, registry=registry, clock=clock, max_attempts=max_attempts)


def _rollback(session, exc: Exception) -> None:
    """Roll back after ``exc``; raise it again if it is a database outage (see :func:`process_batch`)."""
    try:
        session.rollback()
    except Exception:
        if not is_outage(exc):
            raise
    if is_outage(exc):
        raise exc


def _one_by_one(session, ids, *, registry, clock, max_attempts) -> list[Processed]:
    """Process deliveries one per transaction; one that crashes is recorded, not retried at once.

    A database outage stops the round and is raised, the delivery it
    met left as it was (:func:`process_batch`).
    """
    results = []
    for delivery_id in ids:
        try:
            result, acted = process_delivery(
                session, delivery_id, registry=registry, clock=clock, max_attempts=max_attempts
            )
        except Exception as exc:
            _rollback(session, exc)
            log.exception("webhook delivery %s could not be processed", delivery_id)
            result, acted = record_crash(session, delivery_id, exc, clock=clock, max_attempts=max_attempts), True
        if acted:
            results.append(result)
    return results


def record_crash(session, delivery_id, exc, *, clock, max_attempts) -> Processed:
    """Record an unexpected error on a delivery that could not be processed, and commit.

    The same delivery would hit the same error on a retry from the store
    (and a worker answered 202 long ago), so it is deferred with backoff
    like a retryable error, and failed after the last attempt, rather than
    left ``received`` for a worker to pick up again at once, forever, or
    for the store to retry into a 500. (Used by workers and by the intake.)
    """
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())
    delivery.attempts += 1
    delivery.last_error = storable(f"internal_error: {type(exc).__name__}: {exc}")[:2000]
    if delivery.attempts < max_attempts:
        delivery.status, delivery.next_attempt_at = "deferred", clock.now() + backoff(delivery.attempts)
    else:
        delivery.status, delivery.next_attempt_at = "failed", None
    result = Processed.of(delivery)
    session.commit()
    return result


def _apply(session, delivery, *, registry, clock, max_attempts, cache: DeliveryCache, parsed=None) -> Processed:
    """Process a locked delivery's events and set its status; the caller commits."""
    program = session.get(Program, delivery.program_id)
    try:
        events = parsed if parsed is not None else _events(session, delivery, registry, cache)
        with session.begin_nested():
            outcomes = [
                process(session, program, event, registry=registry, clock=clock, cache=cache) for event in events
            ]
    except errors.LoyaltyError as exc:
        attempts = delivery.attempts + 1
        status = "deferred" if getattr(exc, "retryable", False) and attempts < max_attempts else "failed"
        log.info("webhook delivery %s %s: %s", delivery.id, status, f"{exc.code}: {exc.message}")
        return _settle(delivery, status, clock, error=f"{exc.code}: {exc.message}")
    note = "; ".join(outcome.note for outcome in outcomes if outcome.note) or None
    return _settle(delivery, "processed" if events else "ignored", clock, note=note)


def _apply_batch(session, batch, *, registry, clock, max_attempts, cache: DeliveryCache) -> list[Processed]:
    """Process claimed deliveries in arrival order, consecutive ones of a program together.

    A run of deliveries of one event each, for one program, goes to
    :func:`loyalty.earning.batch.process_together`, which processes what
    it can set-based, in waves, and calls back for each event it hands
    back, at the point where it must be processed; those, and every
    delivery of several events or none, are processed one by one with
    :func:`_apply` (a savepoint each, its error recorded on it).
    """
    results: dict[int, Processed] = {}
    run: list[tuple[WebhookDelivery, object]] = []

    def one_by_one(delivery, events) -> None:
        results[delivery.id] = _apply(
            session, delivery, registry=registry, clock=clock, max_attempts=max_attempts, cache=cache, parsed=events
        )

    def flush() -> None:
        if not run:
            return
        program = session.get(Program, run[0][0].program_id)
        outcomes = process_together(
            session,
            program,
            [event for _, event in run],
            registry=registry,
            clock=clock,
            cache=cache,
            one_by_one=lambda index: one_by_one(run[index][0], [run[index][1]]),
        )
        for (delivery, _), outcome in zip(run, outcomes):
            if outcome is not None:
                results[delivery.id] = _settle(delivery, "processed", clock, note=outcome.note or None)
        run.clear()

    for delivery in batch:
        try:
            events = _events(session, delivery, registry, cache)
        except errors.LoyaltyError:
            events = None  # _apply parses again and records why it cannot
        single = events is not None and len(events) == 1
        if run and not (single and delivery.program_id == run[0][0].program_id):
            flush()
        if single:
            run.append((delivery, events[0]))
        else:
            one_by_one(delivery, events)
    flush()
    return [results[delivery.id] for delivery in batch]


def _events(session, delivery, registry, cache: DeliveryCache) -> list:
    """The normalized events of a stored delivery, read again by its storefront's adapter."""
    types = cache.storefront_types
    if delivery.storefront_id not in types:
        types[delivery.storefront_id] = session.scalar(
            select(Storefront.type).where(Storefront.id == delivery.storefront_id)
        )
    adapter = registry.storefronts.get(types[delivery.storefront_id])
    if adapter is None:
        raise errors.LoyaltyError(f"the {types[delivery.storefront_id]} adapter is not installed")
    return reading.events_of(adapter, WebhookRequest(dict(delivery.headers), delivery.body, delivery.received_at))


def _settle(delivery, status: str, clock: Clock, *, error: str | None = None, note: str | None = None) -> Processed:
    """Record a processing attempt's outcome on the delivery (retried later if deferred)."""
    now = clock.now()
    delivery.attempts += 1
    delivery.status, delivery.last_error, delivery.note = status, error and storable(error), note
    delivery.next_attempt_at = now + backoff(delivery.attempts) if status == "deferred" else None
    if status in ("processed", "ignored"):
        delivery.processed_at = now
    return Processed.of(delivery)


def _due(clock: Clock):
    now = clock.now()
    return (WebhookDelivery.status == "received") | (
        (WebhookDelivery.status == "deferred") & (WebhookDelivery.next_attempt_at <= now)
    )


@dataclass(frozen=True)
class Processed:
    """A delivery's state after processing (plain values: no reload after the commit)."""

    id: int
    status: str
    attempts: int
    last_error: str | None
    note: str | None = None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> Processed:
        return cls(delivery.id, delivery.status, delivery.attempts, delivery.last_error, delivery.note)


def retry_due(
    session: Session, *, registry, clock: Clock | None = None, max_attempts: int = 8, limit: int = 500
) -> list[Processed]:
    """Process deliveries left ``received`` (a crash) or ``deferred`` whose time has come."""
    clock = clock or current_clock()
    due = session.scalars(select(WebhookDelivery.id).where(_due(clock)).order_by(WebhookDelivery.id).limit(limit)).all()
    session.rollback()
    return _one_by_one(session, due, registry=registry, clock=clock, max_attempts=max_attempts)


def replay(session: Session, delivery_id: int, *, registry, clock: Clock | None = None) -> Processed:
    """Process a delivery again, whatever its status (idempotent: a processed one changes nothing).

    A crash (a bug the delivery still hits) is recorded on it as ``failed``
    with the error, as a worker records one, rather than raised into the
    admin page or the command that asked for the replay.
    """
    try:
        delivery, _ = process_delivery(session, delivery_id, registry=registry, clock=clock, force=True, max_attempts=1)
    except errors.LoyaltyError:
        raise
    except Exception as exc:
        _rollback(session, exc)  # an outage is raised: nothing to record it in
        log.exception("webhook delivery %s could not be replayed", delivery_id)
        return record_crash(session, delivery_id, exc, clock=clock or current_clock(), max_attempts=1)
    return delivery
