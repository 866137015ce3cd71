"""The ``loyalty worker`` loop: process stored deliveries in batches, and ride out database outages.

Deliveries a worker processes were answered 202 long ago: no store will
send them again, so a worker must not stop while the database is away.
A batch that meets an outage (:func:`loyalty.outage.is_outage`) is rolled
back whole by the database and stays due; the loop logs one line, drops
its session (the next try takes a fresh connection), waits 0.5 s doubling
to 30 s (with jitter) and tries again, at full speed again as soon as the
database answers. Any other error is a bug and stops the worker, as
before.
"""

from __future__ import annotations

import logging
import threading

from loyalty.outage import Outage, is_outage
from loyalty.webhooks import inbox

log = logging.getLogger("loyalty.worker")


def run(
    session,
    *,
    registry,
    max_attempts: int,
    batch: int = 100,
    idle: float = 0.2,
    once: bool = False,
    stop: threading.Event | None = None,
    outage: Outage | None = None,
) -> int:
    """Process due deliveries until ``stop`` is set (or, with ``once``, the queue is empty); how many.

    ``session``: a scoped session (``db.session``), removed after an
    outage. ``stop.wait`` is the only sleep, so a stop (SIGTERM) ends a
    wait at once, a backoff's too.
    """
    stop = stop or threading.Event()
    outage = outage or Outage("worker", log)
    total = 0
    while not stop.is_set():
        try:
            done = inbox.process_batch(session, registry=registry, max_attempts=max_attempts, limit=batch)
        except Exception as exc:
            if not is_outage(exc):
                raise
            session.remove()
            stop.wait(outage.failed(exc))
            continue
        outage.recovered()
        total += len(done)
        if len(done) < batch:
            # The queue is drained. Waiting lets deliveries gather, so the
            # next batch is larger: its queries and its commit are shared
            # by more deliveries (points arrive at most ``idle`` later).
            if once:
                break
            stop.wait(idle)
    return total
