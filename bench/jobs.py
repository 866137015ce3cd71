"""The scheduled jobs' bulk work against baselines measured in the same run, on SQLite and PostgreSQL.

* **tiers**: ``recalculate`` over N members (every member changes tier),
  against a bare baseline that runs the same scheme query, fetches the
  values and writes every member's new tier with one executemany: what
  any recalculation must at least do. The difference is the platform's
  policy logic, the tier history and the hook.
* **release**: the set-based sweep (``Ledger.release_due``) over N due
  pending lots, against releasing the same number of lots one at a time
  with ``Ledger.release_lot`` (what the job did before the sweep).

With ``--big`` (PostgreSQL only), at a million members: a program of
``--members`` members and ``--transfers`` earnings (each an entry, its
transfer and its lot) built set-based (:mod:`jobs_data`), then, each
against a baseline measured in the same run:

* **tiers**: the ``tiers`` job, against one ``GROUP BY`` over the same
  transfers (the points each member's account received in the window,
  fetched), and the same over the entries (the exact aggregate of the
  ``points_earned`` scheme, fetched);
* **release**: the ``release`` job over the ``--members`` pending lots due,
  against the bare set-based statements any release must at least run
  (entries, transfers, lots emptied and opened, consumptions, balances:
  one ``INSERT ... SELECT`` / ``UPDATE ... FROM`` each over all the due
  lots, rolled back);
* **expiry**: the ``expire`` job over the ``--expired`` oldest lots, against
  the same bare statements for an expiry (rolled back);

then ``loyalty verify``.

Usage::

    .venv/bin/python bench/jobs.py [--members 5000] [--skip-postgres]
    .venv/bin/python bench/jobs.py --big --members 1000000 --transfers 10000000 [--pg-url ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import bindparam, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jobs_data  # noqa: E402
from fresh import reset as empty  # noqa: E402
from ledger import ensure_database, reset  # noqa: E402

from loyalty.app import create_app  # noqa: E402
from loyalty.clock import FrozenClock, SystemClock  # noqa: E402
from loyalty.db import db  # noqa: E402
from loyalty.invariants import verify  # noqa: E402
from loyalty.jobs import run_job  # noqa: E402
from loyalty.ledger import Ledger  # noqa: E402
from loyalty.models import Lot, Member, Program, Tier  # noqa: E402
from loyalty.programs.members import enrol  # noqa: E402
from loyalty.programs.program import create_program  # noqa: E402
from loyalty.registry import current_registry  # noqa: E402
from loyalty.tiers.levels import add_tier, set_scheme  # noqa: E402
from loyalty.tiers.recalculate import recalculate  # noqa: E402
from loyalty.tiers.schemes import scheme_of  # noqa: E402


def seed(session, slug: str, members: int, clock) -> tuple:
    program = create_program(session, slug=slug, name=slug, currency="USD", clock=clock)
    bronze = add_tier(session, program, name="Bronze", rank=1, threshold="0", clock=clock)
    add_tier(session, program, name="Silver", rank=2, threshold="500", clock=clock)
    set_scheme(session, program, current_registry(), "points_earned", {"window_days": 365})
    ledger = Ledger(session, clock)
    for n in range(members):
        member, _ = enrol(session, program, external_id=f"m{n}", clock=clock)
        ledger.earn(
            member, 300 + (n % 2) * 400, key=f"seed-{n}", pending=True, release_at=clock.now() + timedelta(days=1)
        )
    session.commit()
    return program, bronze


def timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def measure(label: str, url: str, members: int) -> list[tuple]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CLOCK": SystemClock()})
    rows = []
    with app.app_context():
        upgrade()
        session = db.session
        clock = FrozenClock(SystemClock().now())

        # Tiers: the platform's recalculation, and the bare baseline on an identical program.
        platform, _ = seed(session, f"{label.lower()}-tiers", members, clock)
        bare, bronze = seed(session, f"{label.lower()}-bare", members, clock)
        # Start from an empty session, as the scheduler's job does (seeding left every member in it).
        ids = (platform.id, bare.id, bronze.id)
        session.expunge_all()
        platform, bare, bronze = session.get(Program, ids[0]), session.get(Program, ids[1]), session.get(Tier, ids[2])
        ours = timed(
            lambda: (recalculate(session, platform, clock=clock, registry=current_registry()), session.commit())
        )

        def baseline():
            values = (
                scheme_of(current_registry(), "points_earned")
                .qualifying_values(bare, bare.tier_settings, clock.now())
                .subquery()
            )
            fetched = session.execute(select(values.c.member_id, values.c.value)).all()
            session.connection().execute(
                update(Member.__table__).where(Member.__table__.c.id == bindparam("m")).values(tier_id=bindparam("t")),
                [{"m": member_id, "t": bronze.id} for member_id, _ in fetched],
            )
            session.commit()

        base = timed(baseline)
        rows.append((label, "tiers: recalculate, members/s", members / base, members / ours))

        # Release: the sweep against one lot at a time (the same number of due lots each).
        clock.advance(timedelta(days=2))
        ledger = Ledger(session, clock)
        one_by_one_lots = session.scalars(
            select(Lot.id).where(Lot.program_id == bare.id, Lot.remaining > 0).order_by(Lot.id)
        ).all()
        base = timed(lambda: ([ledger.release_lot(lot_id) for lot_id in one_by_one_lots], session.commit()))
        ours = timed(lambda: (ledger.release_due(platform.id), session.commit()))
        rows.append((label, "release: lots/s", members / base, members / ours))
        assert not verify(session), "the ledger does not verify after the benchmark"
        session.remove()
        db.engine.dispose()
    return rows


# --- at a million members (--big) ----------------------------------------------------------


def measure_big(url: str, members: int, earnings: int, expired: int) -> list[tuple]:
    """The tiers, release and expire jobs over a program built set-based (:mod:`jobs_data`), each against its baseline."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CLOCK": SystemClock()})
    rows = []
    with app.app_context():
        upgrade()
        session, registry = db.session, current_registry()
        clock = FrozenClock(SystemClock().now())
        program = create_program(session, slug="big", name="Big shop", currency="USD", clock=clock)
        tiers = [
            add_tier(session, program, name=name, rank=rank, threshold=str(threshold), clock=clock)
            for rank, (name, threshold) in enumerate((("Bronze", 0), ("Silver", 1000), ("Gold", 2000)), start=1)
        ]
        set_scheme(session, program, registry, "points_earned", {"window_days": 365})
        session.flush()
        program_id, tier_ids = program.id, [tier.id for tier in tiers]
        session.commit()
        session.remove()  # nothing held open while the builder loads and vacuums
        began = time.perf_counter()
        jobs_data.build(
            db.engine, program_id, tier_ids, members=members, earnings=earnings, expired=expired, now=clock.now()
        )
        print(
            f"built {members:,} members, {earnings:,} earnings in {time.perf_counter() - began:.0f} s", file=sys.stderr
        )
        session.remove()

        params = {"p": program_id, "start": clock.now() - timedelta(days=365), "now": clock.now()}
        conn_sql = lambda statement: session.execute(text(statement), params).all()  # noqa: E731
        group_transfers = timed(lambda: conn_sql(GROUP_BY_TRANSFERS))  # a first pass warms the cache for both
        group_transfers = timed(lambda: conn_sql(GROUP_BY_TRANSFERS))
        group_entries = timed(lambda: conn_sql(GROUP_BY_ENTRIES))
        session.rollback()
        ours, run = timed_job(session, "tiers", clock, registry)
        moved = run.counts["upgraded"] + run.counts["downgraded"]
        rows.append((f"tiers job ({moved:,} of {members:,} members move)", "GROUP BY transfers", group_transfers, ours))
        rows.append(("", "GROUP BY entries (the scheme's aggregate)", group_entries, ours))
        again, run = timed_job(session, "tiers", clock, registry)  # the next night: members are in their tiers
        moved = run.counts["upgraded"] + run.counts["downgraded"]
        rows.append((f"tiers job again ({moved:,} move)", "GROUP BY transfers", group_transfers, again))

        for job, baseline, due_count in (("release", BARE_RELEASE, members), ("expire", BARE_EXPIRY, expired)):
            clock.advance(timedelta(seconds=1))
            params["now"] = clock.now()
            params["expired"] = session.execute(
                text("SELECT id FROM accounts WHERE program_id = :p AND kind = 'expired'"), params
            ).scalar_one()
            base = timed(lambda baseline=baseline: [session.execute(text(s), params) for s in baseline])
            session.rollback()
            ours, run = timed_job(session, job, clock, registry)
            done = sum(run.counts.values())
            assert done == due_count, (job, run.counts, due_count)
            rows.append((f"{job} job ({done:,} lots)", "bare set-based statements", base, ours))
        began = time.perf_counter()
        problems = verify(session)
        assert not problems, problems[:5]
        print(f"verify passed in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        session.remove()
        db.engine.dispose()
    return rows


def timed_job(session, name, clock, registry):
    began = time.perf_counter()
    run = run_job(session, name, clock=clock, registry=registry)
    elapsed = time.perf_counter() - began
    assert run.status == "succeeded", (name, run.status, run.error)
    return elapsed, run


#: What a points-earned tier scheme needs, fetched: the window's points by member account (or member).
GROUP_BY_TRANSFERS = """
    SELECT to_account_id, sum(amount) FROM transfers
    WHERE program_id = :p AND created_at >= :start GROUP BY to_account_id
"""
GROUP_BY_ENTRIES = """
    SELECT member_id, sum(amount) FROM entries
    WHERE program_id = :p AND kind = 'earn' AND created_at >= :start GROUP BY member_id
"""

#: The due lots, with the ids of what the sweep writes for each taken ahead.
_DUE = """
    CREATE TEMP TABLE due ON COMMIT DROP AS
    SELECT lots.id AS lot_id, lots.remaining, lots.expires_at, a.member_id, a.id AS from_id, {to_id} AS to_id,
           nextval(pg_get_serial_sequence('entries', 'id')) AS entry_id,
           nextval(pg_get_serial_sequence('transfers', 'id')) AS transfer_id,
           nextval(pg_get_serial_sequence('lots', 'id')) AS new_lot_id
    FROM lots JOIN accounts AS a ON a.id = lots.account_id {join}
    WHERE lots.program_id = :p AND a.kind = '{kind}' AND lots.remaining > 0 AND {due}
"""
_WRITES = [
    "ANALYZE due",
    """
    INSERT INTO entries (id, program_id, member_id, kind, amount, shortfall, idempotency_key, request_hash,
                         actor, source_type, source_id, created_at)
    SELECT entry_id, :p, member_id, '{entry}', remaining, 0, '{entry}:lot:' || lot_id, repeat('0', 64),
           'ledger', 'lot', lot_id::text, :now FROM due
    """,
    """
    INSERT INTO transfers (id, program_id, entry_id, from_account_id, to_account_id, amount, created_at)
    SELECT transfer_id, :p, entry_id, from_id, to_id, remaining, :now FROM due
    """,
    "UPDATE lots SET remaining = 0 FROM due WHERE lots.id = due.lot_id",
    "INSERT INTO lot_consumptions (lot_id, transfer_id, amount) SELECT lot_id, transfer_id, remaining FROM due",
    """
    UPDATE accounts SET balance = balance - moved.total
    FROM (SELECT from_id, sum(remaining) AS total FROM due GROUP BY from_id) AS moved WHERE accounts.id = moved.from_id
    """,
]
BARE_EXPIRY = [
    _DUE.format(to_id=":expired", join="", kind="available", due="lots.expires_at <= :now"),
    *(statement.format(entry="expire") for statement in _WRITES),
]
BARE_RELEASE = [
    _DUE.format(
        to_id="av.id",
        join="JOIN accounts AS av ON av.member_id = a.member_id AND av.kind = 'available'",
        kind="pending",
        due="lots.release_at <= :now",
    ),
    *(statement.format(entry="release") for statement in _WRITES),
    """
    INSERT INTO lots (id, program_id, account_id, entry_id, amount, remaining, created_at, expires_at)
    SELECT new_lot_id, :p, to_id, entry_id, remaining, remaining, :now, expires_at FROM due
    """,
    """
    UPDATE accounts SET balance = balance + moved.total
    FROM (SELECT to_id, sum(remaining) AS total FROM due GROUP BY to_id) AS moved WHERE accounts.id = moved.to_id
    """,
]


def main_big(args) -> int:
    ensure_database(args.pg_url)
    empty(args.pg_url)
    expired = args.expired if args.expired is not None else args.members
    rows = measure_big(args.pg_url, args.members, args.transfers, expired)
    print(
        f"| PostgreSQL, {args.members:,} members, {args.transfers:,} transfers | baseline | s | job s | job / baseline |"
    )
    print("|---|---|---:|---:|---:|")
    for work, baseline, base, ours in rows:
        print(f"| {work} | {baseline} | {base:.1f} | {ours:.1f} | {ours / base:.2f} |")
    return 0


def main() -> int:

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench")
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--big", action="store_true", help="PostgreSQL only: a program built set-based (jobs_data)")
    parser.add_argument("--transfers", type=int, default=10_000_000, help="with --big: earnings (entry, transfer, lot)")
    parser.add_argument("--expired", type=int, default=None, help="with --big: lots past expiry (default --members)")
    args = parser.parse_args()
    if args.big:
        return main_big(args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("SQLite", f"sqlite:///{tmp}/bench.db", args.members)
    if not args.skip_postgres:
        ensure_database(args.pg_url)
        reset(args.pg_url)
        rows += measure("PostgreSQL", args.pg_url, args.members)
        reset(args.pg_url)
    print(f"| backend | work ({args.members:,} members / lots) | baseline | platform | platform / baseline |")
    print("|---|---|---:|---:|---:|")
    for label, work, base, ours in rows:
        print(f"| {label} | {work} | {base:,.0f} | {ours:,.0f} | {ours / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
