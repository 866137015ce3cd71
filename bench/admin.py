"""The admin's pages with a million members, against a page that reads nothing, in one run.

Builds a fresh database with the migrations and :mod:`big_program`'s
program with N members (default 1,000,000), their two accounts with
balances, three tiers, and ``--transfers`` ledger entries (default one
earning per member) spread over the last 330 days, inserted in bulk with
their transfers and lots (set-based SQL, not through the ledger: this
measures reading). Then a signed-in owner asks each page through Flask's test
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

import big_program  # noqa: E402


def measure(url: str, members: int, transfers: int) -> list[tuple[str, float]]:
    from loyalty.access.admin_users import create_admin
    from loyalty.db import db
    from loyalty.registry import current_registry

    began = time.perf_counter()
    app, _, _ = big_program.ensure(
        url, members, transfers, config={"ADMIN_LOGIN_LIMIT": "1000 per minute"}, rebuild=True
    )
    print(f"seeded {members:,} members in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    with app.app_context():
        create_admin(
            db.session, email="pm@example.com", password="bench-password-1", role="owner", clock=app.config["CLOCK"]
        )
        db.session.commit()
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
        ("members, search by referral code (the same)", f"/admin/big/members?q=R{1_000_000_000 + middle}"),
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
        big_program.settle(db.engine)
    rows += [
        (f"{name}, from the daily roll-ups", median_ms(client, base + path))
        for name, path in pages
        if name.startswith(("dashboard", "finance"))
    ]
    return rows


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
    parser.add_argument("--transfers", type=int, default=None, help="ledger entries in all (default: one per member)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (emptied); default a temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(args.database_url or f"sqlite:///{tmp}/admin.db", args.members, args.transfers or args.members)
    label = "PostgreSQL" if args.database_url else "SQLite"
    base = rows[0][1]
    print(f"| {label}, {args.members:,} members | ms (median of 5) | vs baseline |")
    print("|---|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / base:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
