"""The admin's pages with a million members, against a page that reads nothing, in one run.

Builds a fresh database with the migrations and a program with N members
(default 1,000,000), their two accounts with balances, three tiers, and
one earning entry per member spread over the last year, inserted in bulk
with its transfer and lot (executemany, not through the ledger: this measures
reading). Then a signed-in owner asks each page through Flask's test
client, five times, and the median is reported, with the sign-in page (no
queries) as the baseline. Then the ``rollups`` job sums the year into
daily roll-ups (timed), and the dashboard is asked again.

Usage::

    .venv/bin/python bench/admin.py [--members 1000000] [--database-url postgresql+psycopg://…/db]

The database given is emptied (its public schema dropped).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

BATCH = 20_000


def seed(session, program, members: int, clock) -> None:
    now = clock.now()
    from loyalty.models import Account, Entry, Lot, Member, Transfer
    from loyalty.tiers.levels import add_tier

    tiers = [
        add_tier(session, program, name=name, rank=rank, threshold=str(rank * 200), clock=clock)
        for rank, name in enumerate(("Bronze", "Silver", "Gold"), start=1)
    ]
    session.flush()
    issued = session.scalar(select(Account.id).where(Account.program_id == program.id, Account.kind == "issued"))
    first_account = session.scalar(select(func.max(Account.id))) + 1
    conn = session.connection()
    for start in range(0, members, BATCH):
        ids = range(start + 1, min(start + BATCH, members) + 1)
        conn.execute(
            insert(Member),
            [
                {
                    "id": n,
                    "program_id": program.id,
                    "external_id": f"cust-{n}",
                    "email": f"c{n}@example.com",
                    "name": f"Customer {n}",
                    "status": "active",
                    "enrolled_at": now - timedelta(days=n % 730),
                    "referral_code": f"R{n:09d}",
                    "tier_id": tiers[n % 3].id,
                }
                for n in ids
            ],
        )
        conn.execute(
            insert(Account),
            [
                {
                    "id": first_account + 2 * n + (kind == "pending"),
                    "program_id": program.id,
                    "member_id": n,
                    "kind": kind,
                    "balance": n % 500 + 1 if kind == "available" else 0,
                    "created_at": now,
                }
                for n in ids
                for kind in ("available", "pending")
            ],
        )
        conn.execute(
            insert(Entry),
            [
                {
                    "id": n,
                    "program_id": program.id,
                    "member_id": n,
                    "kind": "earn",
                    "amount": n % 500 + 1,
                    "idempotency_key": f"seed-{n}",
                    "request_hash": "0" * 64,
                    "created_at": now - timedelta(hours=n % 8760),
                }
                for n in ids
            ],
        )
        conn.execute(
            insert(Transfer),
            [
                {
                    "program_id": program.id,
                    "entry_id": n,
                    "from_account_id": issued,
                    "to_account_id": first_account + 2 * n,
                    "amount": n % 500 + 1,
                    "created_at": now - timedelta(hours=n % 8760),
                }
                for n in ids
            ],
        )
        conn.execute(
            insert(Lot),
            [
                {
                    "program_id": program.id,
                    "account_id": first_account + 2 * n,
                    "entry_id": n,
                    "amount": n % 500 + 1,
                    "remaining": n % 500 + 1,
                    "created_at": now - timedelta(hours=n % 8760),
                }
                for n in ids
            ],
        )
        session.commit()
        conn = session.connection()


def measure(url: str, members: int) -> list[tuple[str, float]]:
    from flask_migrate import upgrade

    from loyalty.access.admin_users import create_admin
    from loyalty.app import create_app
    from loyalty.clock import current_clock
    from loyalty.db import db
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ADMIN_LOGIN_LIMIT": "1000 per minute"})
    with app.app_context():
        upgrade()
        program = create_program(db.session, slug="big", name="Big shop", currency="USD", clock=app.config["CLOCK"])
        create_admin(
            db.session, email="pm@example.com", password="bench-password-1", role="owner", clock=app.config["CLOCK"]
        )
        db.session.commit()
        began = time.perf_counter()
        seed(db.session, program, members, current_clock())
        db.session.commit()
        settle(db.engine)
        print(f"seeded {members:,} members in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        db.session.remove()

    client = app.test_client()
    base = "https://localhost"
    page = client.get(f"{base}/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert (
        client.post(
            f"{base}/admin/login",
            data={"email": "pm@example.com", "password": "bench-password-1", "csrf_token": token},
            headers={"Referer": f"{base}/admin/login"},
        ).status_code
        == 302
    )
    middle = members // 2
    today = datetime.now(timezone.utc).date()
    year_ago = today - timedelta(days=364)
    pages = [
        ("baseline: the sign-in page (no queries)", "/admin/login"),
        ("dashboard, 30 days", "/admin/big/?days=30"),
        ("dashboard, 365 days", "/admin/big/?days=365"),
        ("members, newest page", "/admin/big/members"),
        ("members, search by e-mail (answers a redirect to the member)", f"/admin/big/members?q=c{middle}@example.com"),
        ("members, search by referral code (the same)", f"/admin/big/members?q=R{middle:09d}"),
        ("a member's page", f"/admin/big/members/cust-{middle}"),
        ("audit log", "/admin/big/audit"),
        ("finance, the last 30 days", "/admin/big/finance"),
        ("finance, a year", f"/admin/big/finance?from={year_ago}&to={today}"),
    ]
    rows = [(name, median_ms(client, base + path)) for name, path in pages]

    with app.app_context():  # the daily roll-ups, as the hourly job makes them
        from loyalty.jobs import run_job

        began = time.perf_counter()
        run = run_job(db.session, "rollups", clock=app.config["CLOCK"], registry=current_registry())
        rolled = time.perf_counter() - began
        print(f"rolled up {run.counts['days']} days in {rolled:.1f} s ({run.status})", file=sys.stderr)
        db.session.remove()
        settle(db.engine)
    rows += [
        (f"{name}, from the daily roll-ups", median_ms(client, base + path))
        for name, path in pages
        if name.startswith(("dashboard", "finance"))
    ]
    return rows


def settle(engine) -> None:
    """Fresh statistics, and on PostgreSQL a visibility map, as autovacuum gives a live database after bulk writes.

    Without it PostgreSQL's index-only scans (the member count, tiers,
    active members) still visit the heap for the rows just written.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # VACUUM cannot run inside a transaction
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def median_ms(client, url: str) -> float:
    times = []
    for _ in range(5):
        began = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - began)
        assert answer.status_code in (200, 302), (url, answer.status_code)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (emptied); default a temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(args.database_url or f"sqlite:///{tmp}/admin.db", args.members)
    label = "PostgreSQL" if args.database_url else "SQLite"
    base = rows[0][1]
    print(f"| {label}, {args.members:,} members | ms (median of 5) | vs baseline |")
    print("|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / base:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
