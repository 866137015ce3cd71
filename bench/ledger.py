"""Ledger throughput against a bare baseline measured in the same run.

For each backend (SQLite file, PostgreSQL) and thread count (1, 4), posts
``--transfers`` transfers two ways, each committed one per transaction
through the same engine and connection settings as the app:

* baseline: one plain ``INSERT`` of a transfer row plus one ``UPDATE`` of a
  balance row (the least any ledger must do);
* ledger: ``Ledger.earn`` (lock the member's accounts, check the
  idempotency key, insert the entry, the transfer and the lot, update the
  cached balance).

Threads post to their own members, as concurrent orders from different
customers do. Each figure is the median of three interleaved rounds.
Prints a Markdown table: transfers per second and the ledger as a share
of the baseline. Usage::

    .venv/bin/python bench/ledger.py [--transfers 2000] [--pg-url URL] [--skip-postgres]
    .venv/bin/python bench/ledger.py --breakdown       # SQLite: statements vs commit
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from loyalty.app import create_app
from loyalty.clock import SystemClock
from loyalty.db import db
from loyalty.invariants import verify
from loyalty.ledger import Ledger
from loyalty.models import Member
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fresh import reset  # noqa: E402

MEMBERS_PER_THREAD = 20
ROUNDS = 3

BASELINE_DDL = {
    "sqlite": [
        "CREATE TABLE bench_transfers (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMP NOT NULL)",
        "CREATE TABLE bench_balances (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE bench_transfers (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE bench_balances (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
}


def prepare(url: str, threads: int):
    """A fresh schema from the migrations, a program, members and baseline tables."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        engine = db.engine
        dialect = engine.dialect.name
        with engine.begin() as conn:
            for statement in BASELINE_DDL[dialect]:
                conn.execute(text(statement))
            conn.execute(
                text("INSERT INTO bench_balances (id, balance) VALUES (:id, 0)"),
                [{"id": i} for i in range(threads * MEMBERS_PER_THREAD)],
            )
        program = create_program(db.session, slug="bench", name="Bench", currency="USD", clock=app.config["CLOCK"])
        member_ids = [
            enrol(db.session, program, external_id=f"m{i}", clock=app.config["CLOCK"])[0].id
            for i in range(threads * MEMBERS_PER_THREAD)
        ]
        db.session.commit()
    return app, member_ids


def run_threads(threads: int, per_thread: int, work) -> float:
    """Run ``work(thread_index, count)`` in threads released together; return transfers/s."""
    barrier = threading.Barrier(threads + 1)
    errors: list = []

    def target(i):
        try:
            work(i, per_thread, barrier)
        except Exception as exc:  # surface, don't hang the barrier
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return threads * per_thread / elapsed


def baseline_work(engine):
    def work(i, count, barrier):
        accounts = [i * MEMBERS_PER_THREAD + k for k in range(MEMBERS_PER_THREAD)]
        insert = text(
            "INSERT INTO bench_transfers (account_id, amount, idempotency_key, created_at)"
            " VALUES (:a, 1, :k, CURRENT_TIMESTAMP)"
        )
        bump = text("UPDATE bench_balances SET balance = balance + 1 WHERE id = :a")
        with engine.connect() as conn:
            barrier.wait()
            for n in range(count):
                account = accounts[n % len(accounts)]
                with conn.begin():
                    conn.execute(insert, {"a": account, "k": f"b-{i}-{n}-{uuid.uuid4().hex[:8]}"})
                    conn.execute(bump, {"a": account})

    return work


def ledger_work(engine, member_ids):
    clock = SystemClock()

    def work(i, count, barrier):
        # Like the baseline, each thread keeps one connection for its run.
        with engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            mine = member_ids[i * MEMBERS_PER_THREAD : (i + 1) * MEMBERS_PER_THREAD]
            members = [session.get(Member, m) for m in mine]
            ledger = Ledger(session, clock)
            ledger._system_account(members[0].program_id, "issued")
            session.commit()
            barrier.wait()
            for n in range(count):
                ledger.earn(members[n % len(members)], 1, key=f"l-{i}-{n}-{uuid.uuid4().hex[:8]}")
                session.commit()

    return work


def measure(label: str, url: str, transfers: int, thread_counts: list[int]) -> list[tuple]:
    rows = []
    for threads in thread_counts:
        app, member_ids = prepare(url, threads)
        with app.app_context():
            engine = db.engine
            per_thread = transfers // threads
            # Warm up connections and caches, then measure each three times,
            # interleaved so that drift in the machine hits both alike.
            run_threads(threads, 20, baseline_work(engine))
            run_threads(threads, 20, ledger_work(engine, member_ids))
            base, led = [], []
            for _ in range(ROUNDS):
                base.append(run_threads(threads, per_thread, baseline_work(engine)))
                led.append(run_threads(threads, per_thread, ledger_work(engine, member_ids)))
            violations = verify(db.session)
            db.session.rollback()
            assert not violations, violations
            engine.dispose()
        b, ours = statistics.median(base), statistics.median(led)
        rows.append((label, threads, b, ours, ours / b))
        print(
            f"  {label:10} threads={threads}: baseline {b:8.0f}/s  ledger {ours:8.0f}/s  ratio {ours / b:.2f}",
            file=sys.stderr,
        )
        reset(url)
    return rows


def breakdown(transfers: int) -> None:
    """Where a SQLite posting's time goes: statements versus the durable commit."""
    with tempfile.TemporaryDirectory() as tmp:
        app, member_ids = prepare(f"sqlite:///{tmp}/breakdown.db", 1)
        with app.app_context(), db.engine.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            member = session.get(Member, member_ids[0])
            ledger = Ledger(session, SystemClock())
            session.commit()

            def timed(commit_each: bool) -> float:
                started = time.perf_counter()
                for _ in range(transfers):
                    ledger.earn(member, 1, key=uuid.uuid4().hex)
                    if commit_each:
                        session.commit()
                session.commit()
                return (time.perf_counter() - started) / transfers * 1000

            timed(True)  # warm up
            each = timed(True)
            statements = timed(False)
            started = time.perf_counter()
            for _ in range(transfers):
                session.execute(text("SELECT 1"))
                session.commit()
            empty = (time.perf_counter() - started) / transfers * 1000
    print("| SQLite, per earning | ms |")
    print("|---|---:|")
    print(f"| statements only (one transaction for all) | {statements:.3f} |")
    print(f"| statements + commit each | {each:.3f} |")
    print(f"| so the commit | {each - statements:.3f} |")
    print(f"| an empty transaction's commit | {empty:.3f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=2000, help="transfers per measurement")
    parser.add_argument("--threads", default="1,4", help="comma-separated thread counts")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench"),
        help="a PostgreSQL database the benchmark may empty (created if missing)",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--breakdown", action="store_true", help="only split a SQLite posting into statements and commit"
    )
    args = parser.parse_args()
    if args.breakdown:
        breakdown(args.transfers)
        return 0
    thread_counts = [int(t) for t in args.threads.split(",")]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        rows += measure("SQLite", url, args.transfers, thread_counts)
    if not args.skip_postgres:
        ensure_database(args.pg_url)
        reset(args.pg_url)
        rows += measure("PostgreSQL", args.pg_url, args.transfers, thread_counts)
        reset(args.pg_url)

    print("| backend | threads | baseline (transfers/s) | ledger (transfers/s) | ledger / baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, threads, b, ours, ratio in rows:
        print(f"| {label} | {threads} | {b:,.0f} | {ours:,.0f} | {ratio:.2f} |")
    return 0


def ensure_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": target.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
