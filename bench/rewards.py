"""Redemptions per second against spending the same points with the ledger alone, in one run.

For each backend, a fresh database with the migrations, a program, N
members with 10,000 points each and a code reward (stock N). Then, one
transaction per request as the API does:

* **baseline**: ``Ledger.redeem`` of the reward's points (what spending costs);
* **redeem**: ``loyalty.rewards.redeem`` of a ``fixed_amount_code`` reward with
  stock and a per-member limit (lock, availability, stock update, ledger,
  redemption row, a generated code);
* **redeem from a pool**: the same with ``use_pool`` (one imported code each).

Usage::

    .venv/bin/python bench/rewards.py [--count 2000] [--database-url postgresql+psycopg://…/db]

The database given is emptied (its public schema dropped).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402


def run(url: str, count: int) -> list[tuple[str, float]]:
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.invariants import verify
    from loyalty.ledger import Ledger
    from loyalty.programs.members import enrol
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry
    from loyalty.rewards import add_reward, import_codes, redeem

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rows = []
    with app.app_context():
        upgrade()
        session, registry = db.session, current_registry()
        program = create_program(session, slug="bench", name="Bench", currency="USD", clock=app.config["CLOCK"])
        ledger = Ledger(session, app.config["CLOCK"])
        members = []
        for n in range(count):
            member, _ = enrol(session, program, external_id=f"m{n}", clock=app.config["CLOCK"])
            ledger.earn(member, 10_000, key=f"seed-{n}")
            members.append(member)
        codes = add_reward(
            session,
            program,
            registry,
            type="fixed_amount_code",
            name="5 off",
            points=500,
            config={"amount": "5.00"},
            stock=count,
            limit_per_member=3,
            clock=app.config["CLOCK"],
        )
        pooled = add_reward(
            session,
            program,
            registry,
            type="free_shipping_code",
            name="Ship",
            points=500,
            config={"use_pool": True},
            stock=count,
            clock=app.config["CLOCK"],
        )
        import_codes(session, program, pooled, [f"POOL-{n:06d}" for n in range(count)], clock=app.config["CLOCK"])
        session.commit()

        def timed(name, work):
            began = time.perf_counter()
            for member in members:
                work(member)
                session.commit()
            rows.append((name, count / (time.perf_counter() - began)))

        timed(
            "baseline: Ledger.redeem", lambda m: Ledger(session, app.config["CLOCK"]).redeem(m, 500, key=f"base-{m.id}")
        )
        timed(
            "redeem: generated code",
            lambda m: redeem(session, program, m, codes.id, key="code", registry=registry, clock=app.config["CLOCK"]),
        )
        timed(
            "redeem: code from a pool",
            lambda m: redeem(session, program, m, pooled.id, key="pool", registry=registry, clock=app.config["CLOCK"]),
        )
        assert verify(session) == []
        session.remove()
        db.engine.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (emptied); default a temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/rewards.db"
        rows = run(url, args.count)
    label = "PostgreSQL" if args.database_url else "SQLite"
    base = rows[0][1]
    print(f"| {label}, {args.count} members, one transaction each | per second | vs baseline |")
    print("|---|---:|---:|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {rate / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
