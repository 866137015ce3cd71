"""Concurrent writers on one member: no overdraft, no lost update, one post per key.

These run on both backends; on PostgreSQL they exercise the row locks
(``SELECT … FOR UPDATE`` on the member's accounts) across 16 real
connections, on SQLite the single-writer lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.models import Entry, Member

THREADS = 16


def run_concurrently(member_id, clock, action):
    db.session.commit()  # the test's own session must not hold SQLite's write lock
    """Run ``action(ledger, member, i)`` in THREADS threads released together.

    Each thread has its own connection and commits its own transaction.
    Returns each thread's result or the domain error it raised.
    """
    engine = db.engine
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def work(i):
        with Session(engine, expire_on_commit=False) as session:
            member = session.get(Member, member_id)
            ledger = Ledger(session, clock)
            ledger._system_account(member.program_id, "issued")  # warm the cache
            # End the read transaction before waiting: on SQLite it holds the write lock.
            session.commit()
            barrier.wait()
            try:
                results[i] = action(ledger, member, i)
                session.commit()
            except errors.LoyaltyError as exc:
                session.rollback()
                results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return results


def test_concurrent_redemptions_never_overdraw(ledger, session, member, clock):
    ledger.earn(member, 55, key="o1")
    session.commit()
    results = run_concurrently(member.id, clock, lambda led, m, i: led.redeem(m, 10, key=f"r{i}"))
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(accepted) == 5
    assert all(isinstance(r, errors.InsufficientPoints) for r in refused)
    session.expire_all()
    assert ledger.balances(member.id)["available"] == 55 - 10 * len(accepted) == 5


def test_same_idempotency_key_from_many_threads_posts_once(ledger, session, member, clock):
    results = run_concurrently(member.id, clock, lambda led, m, i: led.earn(m, 100, key="order-42"))
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.entry_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert session.scalar(select(func.count()).select_from(Entry)) == 1
    assert ledger.balances(member.id)["available"] == 100


def test_no_lost_updates_with_mixed_writers(ledger, session, member, clock):
    ledger.earn(member, 1000, key="seed")
    session.commit()

    def action(led, m, i):
        if i % 2:
            return led.redeem(m, 7, key=f"spend-{i}")
        return led.earn(m, i + 1, key=f"earn-{i}")

    results = run_concurrently(member.id, clock, action)
    assert not any(isinstance(r, Exception) for r in results), results
    expected = 1000 + sum(i + 1 for i in range(0, THREADS, 2)) - 7 * (THREADS // 2)
    assert ledger.balances(member.id)["available"] == expected
