"""Refunds and cancellations of a worker's wave: one by one against set-based (loyalty.earning.batch_changes).

For SQLite and PostgreSQL: a fresh database, a program with a base rate
and a first-order bonus and a 14-day return window, and N members with a
paid order each (two earn entries per order). Then the same wave (half
partial refunds, half cancellations, one per order) is processed in one
transaction twice, in two programs built alike: one event at a time with
``process()``, and with ``process_order_changes``. Reports milliseconds per
event, the speed-up and the statements each way. Usage::

    .venv/bin/python bench/order_changes.py [--events 100] [--rounds 5]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fresh import reset  # noqa: E402


def wave(prefix: str, first: int, size: int):
    from loyalty.earning.events import OrderCancelled, OrderRefunded

    return [
        OrderRefunded(order_id=f"{prefix}{n}", refund_id="r1", amount=Decimal("30.00"), currency="USD")
        if n % 2
        else OrderCancelled(order_id=f"{prefix}{n}")
        for n in range(first, first + size)
    ]


def run(url: str, events: int, rounds: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import event as sa_event

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.earning.batch_changes import process_order_changes
    from loyalty.earning.event_checks import checked
    from loyalty.earning.events import Customer, OrderPaid
    from loyalty.earning.pipeline import Pipeline, process
    from loyalty.earning.rules import add_rule
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        registry, clock, session = current_registry(), app.config["CLOCK"], db.session
        programs = {}
        for way in ("one", "set"):
            program = create_program(session, slug=way, name=way, currency="USD", return_window_days=14, clock=clock)
            for kind, name, config in (
                ("points_per_currency", "Base", {"points_per_unit": "1"}),
                ("first_order_bonus", "First", {"points": 25}),
            ):
                add_rule(session, program, registry, type=kind, name=name, config=config, clock=clock)
            for n in range(events * rounds):
                paid = OrderPaid(
                    order_id=f"o{n}",
                    customer=Customer(external_id=f"c{n}"),
                    currency="USD",
                    subtotal=Decimal("50.00"),
                    total=Decimal("50.00"),
                )
                process(session, program, paid, registry=registry, clock=clock)
            session.commit()
            programs[way] = program

        statements = []
        sa_event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(1))
        times = {"one": [], "set": []}
        counts = {}
        for r in range(rounds):
            for way, program in programs.items():
                batch = wave("o", r * events, events)
                statements.clear()
                start = time.perf_counter()
                if way == "one":
                    for item in batch:
                        process(session, program, item, registry=registry, clock=clock)
                else:
                    pipeline = Pipeline(session, program, registry=registry, clock=clock)
                    done = process_order_changes(pipeline, [(i, checked(item)) for i, item in enumerate(batch)])
                    assert len(done) == len(batch)
                session.commit()
                times[way].append((time.perf_counter() - start) / events * 1000)
                counts[way] = len(statements)
    one, together = statistics.median(times["one"]), statistics.median(times["set"])
    return {"one": one, "set": together, "statements_one": counts["one"], "statements_set": counts["set"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100, help="events per wave")
    parser.add_argument("--rounds", type=int, default=5, help="waves timed (the median is reported)")
    parser.add_argument("--postgres", help="a PostgreSQL URL (its public schema is dropped)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    targets = []
    if not args.skip_sqlite:
        targets.append(("SQLite", f"sqlite:///{tempfile.gettempdir()}/bench-order-changes.db"))
    if args.postgres:
        targets.append(("PostgreSQL", args.postgres))
    print(f"{args.events} events per wave (half partial refunds, half cancellations), median of {args.rounds} waves\n")
    print("| database | one by one (ms/event) | set-based (ms/event) | speed-up | statements one by one | set-based |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, url in targets:
        r = run(url, args.events, args.rounds)
        print(
            f"| {name} | {r['one']:.2f} | {r['set']:.2f} | {r['one'] / r['set']:.1f}× "
            f"| {r['statements_one']:,} | {r['statements_set']:,} |"
        )


if __name__ == "__main__":
    main()
