"""Reading one member at a million members: ``GET /api/v1/members/<id>`` and the member API's ``GET /me``, in-process,
against baselines through the same stack, in one run.

The program is :mod:`big_program`'s (default 1,000,000 members and
10,000,000 transfers; a database that already holds it is reused, not
rebuilt). Requests go through Flask's test client (routing, the before-request
hooks, the JSON body, the database; no network), for random members, warm
(``--warmup`` requests first, not counted), interleaved so all see the same
caches:

* **baseline, no database**: a route that answers ``{}``;
* **baseline, one SELECT**: the store API's key check and the member found
  by their external id (one indexed SELECT), answering their id: what any
  member read pays before it reads anything of the member;
* ``GET /api/v1/members/<id>`` with an API key: balances, tier, tier
  progress, lifetime earned, referral link;
* ``GET /member/v1/big/me`` with a member's JWT: the token, the per-member
  rate limit (a counted hit, written on its own connection), the same member
  view, the next expiry.

Reports p50 and p99 in milliseconds and each p50 against the one-SELECT
baseline's, as a Markdown table. Usage::

    .venv/bin/python bench/member_reads.py --database-url postgresql+psycopg://…/db \
        [--members 1000000] [--transfers 10000000] [--requests 3000] [--warmup 300]

Without ``--database-url`` it builds a temporary SQLite file. ``--profile``
prints cProfile's top functions of the member read instead of the table;
``--prewarm`` reads the whole database into the OS's cache before the
warm-up (:func:`prewarm`).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import big_program  # noqa: E402

LABELS = (
    "baseline: a route that reads nothing",
    "baseline: API key + the member by id (one SELECT)",
    "GET /api/v1/members/<id>",
    "GET /member/v1/<program>/me",
)


def add_baselines(app) -> None:
    """Two routes beside the API's, through the same app, session and (the second) key check."""
    from flask import g, jsonify

    from loyalty.api.auth import require_api_key
    from loyalty.db import db
    from loyalty.programs.members import find_member

    @app.get("/bench/nothing")
    def nothing():
        return jsonify({})

    @app.get("/bench/members/<external_id>")
    def one_select(external_id):
        require_api_key()
        member = find_member(db.session, g.program, external_id)
        db.session.commit()
        return jsonify({"id": member.id})


def prewarm(app, url: str) -> None:
    """Read the whole database once, so its pages are in the OS's cache, as a live server's hot data are.

    Built at this size (7.4 GB on PostgreSQL) the database is mostly on
    disk, not in memory, and a read of random members then waits on the
    disk (even the one-SELECT baseline's p99 was 168 ms). PostgreSQL:
    ``pg_prewarm(…, 'read')`` on every table and index (the contrib
    extension, created in the benchmark's database); SQLite: the file read
    through.
    """
    from sqlalchemy import text

    from loyalty.db import db

    began = time.perf_counter()
    if url.startswith("postgresql"):
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            blocks = conn.execute(
                text(
                    "SELECT sum(pg_prewarm(c.oid::regclass, 'read')) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
                )
            ).scalar()
        size = int(blocks) * 8192
    else:
        size = 0
        with open(url.removeprefix("sqlite:///"), "rb") as file:
            while chunk := file.read(1 << 24):
                size += len(chunk)
    print(f"prewarmed {size / 1e9:.1f} GB in {time.perf_counter() - began:.0f} s", file=sys.stderr)


def run(url: str, members: int, transfers: int, requests: int, warmup: int, profile: bool, warm: bool = False):
    from loyalty.clock import SystemClock
    from loyalty.widget.tokens import make_jwt

    app, key, secret = big_program.ensure(url, members, transfers, config={"MEMBER_RATE_LIMIT": "1000000 per minute"})
    add_baselines(app)
    if warm:
        prewarm(app, url)
    client, clock, rng = app.test_client(), SystemClock(), random.Random(19)
    api = {"Authorization": f"Bearer {key}"}

    def calls(n: int):
        external = f"cust-{n}"
        me = {"Authorization": f"Bearer {make_jwt(secret, external, clock=clock)}"}  # the store's server makes it
        return [
            (LABELS[0], lambda: client.get("/bench/nothing")),
            (LABELS[1], lambda: client.get(f"/bench/members/{external}", headers=api)),
            (LABELS[2], lambda: client.get(f"/api/v1/members/{external}", headers=api)),
            (LABELS[3], lambda: client.get(f"/member/v1/{big_program.SLUG}/me", headers=me)),
        ]

    for _ in range(warmup):
        for label, call in calls(rng.randint(1, members)):
            answer = call()
            assert answer.status_code == 200, (label, answer.status_code, answer.get_json())
    if profile:
        profiler = cProfile.Profile()
        for _ in range(requests):
            external = f"cust-{rng.randint(1, members)}"
            profiler.enable()
            client.get(f"/api/v1/members/{external}", headers=api)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return None
    times: dict[str, list[float]] = {label: [] for label in LABELS}
    for _ in range(requests):
        batch = calls(rng.randint(1, members))
        rng.shuffle(batch)
        for label, call in batch:
            began = time.perf_counter()
            answer = call()
            times[label].append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, (label, answer.status_code)
    return [(label, statistics.median(ms), statistics.quantiles(ms, n=100)[98]) for label, ms in times.items()]


def table(title: str, rows) -> str:
    base = rows[1][1]
    out = [f"| {title} | p50 ms | p99 ms | p50 vs one SELECT |", "|---|---:|---:|---:|"]
    out += [f"| {label} | {p50:.2f} | {p99:.2f} | {p50 / base:.2f} |" for label, p50, p99 in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--transfers", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=3000, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=300, help="untimed rounds first")
    parser.add_argument("--database-url", help="PostgreSQL (reused if it holds the program, else emptied)")
    parser.add_argument("--sqlite-file", help="a SQLite file to build or reuse (default: a temporary one)")
    parser.add_argument("--profile", action="store_true", help="cProfile of the member read, no table")
    parser.add_argument(
        "--prewarm", action="store_true", help="read the whole database into the OS's cache first (see prewarm)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{args.sqlite_file or folder + '/reads.db'}"
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        rows = run(url, args.members, args.transfers, args.requests, args.warmup, args.profile, args.prewarm)
    if rows is not None:
        title = f"{backend}, {args.members:,} members, {args.transfers:,} transfers, {args.requests:,} requests each"
        title += ", prewarmed" if args.prewarm else ""
        print(table(title, rows))


if __name__ == "__main__":
    main()
