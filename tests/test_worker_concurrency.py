"""Two workers share a store's mix of deliveries: every delivery settles once and no point is lost or doubled.

A seeded sequence like a store's queue (paid orders of mostly new
customers, some returning, refunds and cancellations of earlier orders,
the store repeating deliveries) is stored queued, then two workers, each
with its own connection, drain it in small batches at once, so their
waves enrol, lock and post against each other (on PostgreSQL with
``SKIP LOCKED`` claims and row locks; SQLite serializes them). A refund
claimed while its order sits in the other worker's open batch is deferred
and retried, as in production. The same deliveries are processed one by
one for a second program. Earnings cannot depend on which worker went
first (each order earns once; each member's first-order bonus once), so
the earned points must match exactly; everything must end processed, and
``loyalty verify`` runs after the test (tests/conftest.py).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.db import db
from loyalty.models import Entry, Member, WebhookDelivery
from loyalty.tiers.levels import set_scheme
from loyalty.webhooks import inbox
from tests.helpers.webhooks import post_deliveries, shopify_delivery
from tests.test_worker_batches import setup_program


def store_queue(seed: int, count: int) -> list[tuple]:
    """Steps for ``shopify_delivery``: a store's mix, each refund or cancellation after its order."""
    rng = random.Random(seed)
    steps, paid = [], []
    for n in range(count):
        roll = rng.random()
        if roll < 0.1 and paid:
            steps.append(("refund", rng.choice(paid), n, rng.randint(1, 40)))
        elif roll < 0.2 and paid:
            steps.append(("cancel", paid.pop(rng.randrange(len(paid)))))
        elif roll < 0.25 and steps:
            steps.append(("again", rng.randrange(len(steps))))
        else:
            customer = rng.randrange(3, 60) if rng.random() < 0.2 else 100 + n  # returning, or new
            paid.append(n)
            steps.append(("paid", n, customer, rng.randint(5, 200), "USD"))
    return steps


def earned(session, program) -> dict:
    rows = session.execute(
        select(Member.external_id, Entry.reason, func.sum(Entry.amount))
        .join(Member, Member.id == Entry.member_id)
        .where(Entry.program_id == program.id, Entry.kind == "earn")
        .group_by(Member.external_id, Entry.reason)
    ).all()
    return {(external_id, reason): int(total) for external_id, reason, total in rows}


def test_two_workers_process_a_store_mix_once(app, session, registry, clock):
    app.config["WEBHOOK_PROCESSING"] = "queued"
    client = app.test_client()
    alone = setup_program(session, registry, clock, "alone", 0)
    shared = setup_program(session, registry, clock, "shared", 0)
    for program in (alone, shared):  # tiers on points earned: which order comes first would decide the multiplier
        set_scheme(session, program, registry, None)
    session.commit()
    steps = store_queue(seed=19, count=240)
    deliveries = []
    for n, step in enumerate(steps):
        if step[0] == "again":
            deliveries.append(deliveries[step[1] % len(deliveries)])
        else:
            topic, body = shopify_delivery(step, n)
            deliveries.append((topic, body, f"mix-{n}"))

    post_deliveries(client, alone, deliveries)
    inbox.retry_due(session, registry=registry, clock=clock, limit=1000)  # one by one, each in its transaction
    post_deliveries(client, shared, deliveries)
    errors, barrier, engine = [], threading.Barrier(2), db.engine

    def work():
        try:
            with app.app_context(), Session(engine) as own:
                barrier.wait()
                while inbox.process_batch(own, registry=registry, clock=clock, limit=15):
                    pass
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors
    for _ in range(3):  # refunds that met their order in the other worker's open batch: deferred, then retried
        clock.advance(timedelta(hours=7))
        inbox.retry_due(session, registry=registry, clock=clock, limit=1000)
    session.expire_all()
    statuses = Counter(
        session.scalars(select(WebhookDelivery.status).where(WebhookDelivery.program_id == shared.id)).all()
    )
    assert set(statuses) <= {"processed", "ignored"}, statuses
    assert earned(session, shared) == earned(session, alone)
