"""The scheduled jobs' bulk work against baselines measured in the same run, on SQLite and PostgreSQL.

* **tiers**: ``recalculate`` over N members (every member changes tier),
  against a bare baseline that runs the same scheme query, fetches the
  values and writes every member's new tier with one executemany: what
  any recalculation must at least do. The difference is the platform's
  policy logic, the tier history and the hook.
* **release**: the set-based sweep (``Ledger.release_due``) over N due
  pending lots, against releasing the same number of lots one at a time
  with ``Ledger.release_lot`` (what the job did before the sweep).

Usage::

    .venv/bin/python bench/jobs.py [--members 5000] [--skip-postgres]
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
from sqlalchemy import bindparam, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import ensure_database, reset  # noqa: E402

from loyalty.app import create_app  # noqa: E402
from loyalty.clock import FrozenClock, SystemClock  # noqa: E402
from loyalty.db import db  # noqa: E402
from loyalty.invariants import verify  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench")
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
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
