"""Webhook intake throughput and latency against a bare baseline, both under gunicorn.

For SQLite and PostgreSQL: builds a fresh database with the migrations, a
program with a base-rate rule and a Shopify storefront, then starts

* the platform: ``loyalty serve --workers 2`` (the full path: verify, store
  in the inbox, commit, enrol or find the member, record the order, run
  the rules, post to the ledger, commit), twice: processing in the request,
  and queued (``WEBHOOK_PROCESSING=queued``) with one ``loyalty worker``
  (``--pg-workers`` on PostgreSQL) posting in batches, timed until every
  delivery is processed;
* the baseline (``bench/baseline_app.py``) under gunicorn with 2 workers
  and an access log, as ``loyalty serve`` runs: verify the same HMAC,
  insert the raw body, one transfer, one balance update, commit.

A separate process sends signed Shopify ``orders/paid`` deliveries (each a
new order, 200 customers) at a fixed concurrency over keep-alive HTTP and
reports deliveries per second and p50/p99 latency. Usage::

    .venv/bin/python bench/webhooks.py [--requests 2000] [--concurrency 8] [--skip-postgres | --skip-sqlite]
                                       [--pg-workers 1] [--worker-idle 0.05]
    .venv/bin/python bench/webhooks.py --in-process [N]     # per-delivery cost in one process
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-shopify-secret-0123456789"
CUSTOMERS = 200

BASELINE_DDL = {
    "sqlite": [
        "CREATE TABLE bench_inbox (id INTEGER PRIMARY KEY, delivery_id VARCHAR(255), body BLOB)",
        "CREATE TABLE bench_transfers (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMP NOT NULL)",
        "CREATE TABLE bench_balances (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE bench_inbox (id BIGSERIAL PRIMARY KEY, delivery_id VARCHAR(255), body BYTEA)",
        "CREATE TABLE bench_transfers (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE bench_balances (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
}


def order_body(n: int) -> bytes:
    customer = 10_000 + n % CUSTOMERS
    return json.dumps(
        {
            "id": 5_000_000 + n,
            "currency": "USD",
            "financial_status": "paid",
            "processed_at": "2026-11-01T10:00:00+00:00",
            "total_line_items_price": "42.00",
            "total_discounts": "0.00",
            "total_tax": "3.36",
            "total_price": "45.36",
            "shipping_lines": [],
            "discount_codes": [],
            "customer": {
                "id": customer,
                "email": f"c{customer}@example.com",
                "first_name": "Bench",
                "last_name": str(customer),
            },
            "line_items": [
                {"id": 1, "title": "Espresso beans", "sku": "BEANS", "quantity": 1, "price": "30.00", "product_id": 7},
                {"id": 2, "title": "Mug", "sku": "MUG", "quantity": 1, "price": "12.00", "product_id": 8},
            ],
        }
    ).encode()


def signed(n: int) -> tuple[bytes, dict]:
    body = order_body(n)
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": f"bench-{n}",
        "Content-Type": "application/json",
    }


# --- load generator (runs in its own process) ---------------------------------


def load(port: int, path: str, start: int, requests: int, concurrency: int) -> dict:
    prepared = [signed(n) for n in range(start, start + requests)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(requests))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            body, headers = prepared[index]
            began = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if response.status not in (200, 202):
                    errors.append(str(response.status))
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": requests / wall,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors[:5],
    }


def run_load(port, path, start, requests, concurrency) -> dict:
    """The load generator in a separate process, so the servers and it don't share a GIL."""
    output = subprocess.run(
        [sys.executable, __file__, "--load", str(port), path, str(start), str(requests), str(concurrency)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


# --- servers -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, path: str) -> None:
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def serve(command: list[str], env: dict, port: int, probe: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wait_until_up(port, probe)
    return process


def loyalty(args: list[str], env: dict) -> None:
    subprocess.run([str(BIN / "loyalty"), *args], env=env, check=True, capture_output=True, cwd=ROOT)


def prepare(url: str, env: dict) -> None:
    loyalty(["db", "upgrade"], env)
    loyalty(["programs", "create", "--slug", "bench", "--name", "Bench", "--currency", "USD"], env)
    loyalty(
        [
            "rules",
            "add",
            "--program",
            "bench",
            "--type",
            "points_per_currency",
            "--name",
            "Base",
            "--config",
            '{"points_per_unit": "1"}',
        ],
        env,
    )
    loyalty(["storefronts", "add", "--program", "bench", "--type", "shopify", "--secret", SECRET], env)
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in BASELINE_DDL[engine.dialect.name]:
            conn.execute(text(statement))
        conn.execute(
            text("INSERT INTO bench_balances (id, balance) VALUES (:i, 0)"), [{"i": i} for i in range(CUSTOMERS)]
        )
    engine.dispose()


def last_delivery(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM webhook_deliveries")).scalar()
    engine.dispose()
    return last


def wait_until_processed(url: str, after: int, count: int) -> None:
    """Until ``count`` deliveries stored after id ``after`` are processed (a cheap range count, every 20 ms)."""
    engine = create_engine(url)
    query = text("SELECT count(*) FROM webhook_deliveries WHERE id > :after AND status = 'processed'")
    with engine.connect() as conn:
        while conn.execute(query, {"after": after}).scalar() < count:
            conn.rollback()
            time.sleep(0.02)
    engine.dispose()


def measure(label: str, url: str, requests: int, concurrency: int, workers: int, idle: float) -> list[tuple]:
    """Baseline, the platform processing inline, and queued with ``workers`` batch workers."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOYALTY_INSTANCE_PATH": tempfile.mkdtemp(),
        "BENCH_DATABASE_URL": url,
        "BENCH_SECRET": SECRET,
    }
    prepare(url, env)
    ports = {name: free_port() for name in ("inline", "queued", "baseline")}
    # --no-worker: this benchmark starts its own workers for the queued run, and the inline one has none.
    serve_args = lambda port: [  # noqa: E731
        str(BIN / "loyalty"),
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--no-worker",
    ]
    servers = [
        serve(serve_args(ports["inline"]), env, ports["inline"], "/healthz"),
        serve(
            serve_args(ports["queued"]), {**env, "LOYALTY_WEBHOOK_PROCESSING": '"queued"'}, ports["queued"], "/healthz"
        ),
        # Served as `loyalty serve` serves the platform: 2 sync workers, access log on.
        serve(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--bind",
                f"127.0.0.1:{ports['baseline']}",
                "--pythonpath",
                str(ROOT / "bench"),
                "baseline_app:app",
            ],
            env,
            ports["baseline"],
            "/",
        ),
    ]
    servers += [
        subprocess.Popen(
            [str(BIN / "loyalty"), "worker", "--idle", str(idle)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    path = "/webhooks/bench/shopify"
    try:
        run_load(ports["inline"], path, 0, 200, concurrency)  # warm up; enrols the customers
        run_load(ports["baseline"], "/", 0, 200, concurrency)
        rows = {"baseline": [], "inline": [], "queued": []}
        for round_ in range(3):  # interleaved, so drift hits both alike
            start = 1000 + round_ * 3 * requests
            rows["baseline"].append(run_load(ports["baseline"], "/", start, requests, concurrency))
            rows["inline"].append(run_load(ports["inline"], path, start, requests, concurrency))
            # Queued: the rate counts until the workers have processed every delivery.
            after = last_delivery(url)
            began = time.perf_counter()
            sent = run_load(ports["queued"], path, start + requests, requests, concurrency)
            wait_until_processed(url, after, requests)
            sent["rate"] = requests / (time.perf_counter() - began)
            rows["queued"].append(sent)
    finally:
        for process in servers:
            process.terminate()
            process.wait(30)
    verify = subprocess.run([str(BIN / "loyalty"), "verify"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert verify.returncode == 0, verify.stderr
    result = []
    for name in ("baseline", "inline", "queued"):
        runs = rows[name]
        errors = [e for run in runs for e in run["errors"]]
        assert not errors, f"{name} answered {errors}"
        result.append(
            (
                label,
                name,
                statistics.median(r["rate"] for r in runs),
                statistics.median(r["p50"] for r in runs),
                statistics.median(r["p99"] for r in runs),
            )
        )
        print(
            f"  {label:10} {name:8} {result[-1][2]:7.0f}/s p50 {result[-1][3]:6.1f} ms p99 {result[-1][4]:6.1f} ms",
            file=sys.stderr,
        )
    return result


def in_process(count: int) -> None:
    """Per-delivery cost without HTTP or contention: Flask's test client on SQLite, one process."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.earning.rules import add_rule
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry
    from loyalty.storefronts.connections import add_storefront
    from loyalty.webhooks import inbox

    figures = {}
    for mode in ("inline", "queued"):
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/p.db", "WEBHOOK_PROCESSING": mode})
            with app.app_context():
                upgrade()
                program = create_program(
                    db.session, slug="bench", name="Bench", currency="USD", clock=app.config["CLOCK"]
                )
                add_rule(
                    db.session,
                    program,
                    current_registry(),
                    type="points_per_currency",
                    name="Base",
                    config={"points_per_unit": "1"},
                    clock=app.config["CLOCK"],
                )
                add_storefront(
                    db.session, program, current_registry(), type="shopify", secret=SECRET, clock=app.config["CLOCK"]
                )
                db.session.commit()
            client = app.test_client()

            def send(first, last):
                for n in range(first, last):
                    body, headers = signed(n)
                    assert client.post("/webhooks/bench/shopify", data=body, headers=headers).status_code < 300

            def drain():
                with app.app_context():
                    while inbox.process_batch(db.session, registry=current_registry(), limit=100):
                        pass

            send(0, 200)  # warm up: enrols the customers
            drain()
            began = time.perf_counter()
            send(200, 200 + count)
            figures[f"{mode}: request"] = (time.perf_counter() - began) / count * 1000
            if mode == "queued":
                began = time.perf_counter()
                drain()
                figures["queued: worker, batches of 100"] = (time.perf_counter() - began) / count * 1000
    print("| in one process (SQLite) | ms per delivery |")
    print("|---|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.2f} |")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--in-process":
        in_process(int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        port, path, start, requests, concurrency = sys.argv[2:7]
        print(json.dumps(load(int(port), path, int(start), int(requests), int(concurrency))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="deliveries per measured round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench")
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--worker-idle",
        type=float,
        default=0.05,
        help="loyalty worker --idle: how long a worker lets deliveries gather after a partial batch",
    )
    parser.add_argument(
        "--pg-workers",
        type=int,
        default=1,
        help="loyalty worker processes on PostgreSQL (SQLite has one writer: always 1)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from ledger import ensure_database, reset

    rows = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            # SQLite has one writer: a second worker would only queue behind the first.
            rows += measure(
                "SQLite", f"sqlite:///{tmp}/bench.db", args.requests, args.concurrency, workers=1, idle=args.worker_idle
            )
    if not args.skip_postgres:
        ensure_database(args.pg_url)
        reset(args.pg_url)
        rows += measure(
            "PostgreSQL", args.pg_url, args.requests, args.concurrency, workers=args.pg_workers, idle=args.worker_idle
        )
        reset(args.pg_url)
    names = {
        "baseline": "bare baseline",
        "inline": "platform, processing in the request",
        "queued": "platform, queued + batch workers (until all processed)",
    }
    print("| backend | server | deliveries/s | p50 (ms) | p99 (ms) | platform / baseline |")
    print("|---|---|---:|---:|---:|---:|")
    for index in range(0, len(rows), 3):
        base = rows[index]
        for row in rows[index : index + 3]:
            ratio = "" if row is base else f"{row[2] / base[2]:.2f}"
            print(f"| {row[0]} | {names[row[1]]} | {row[2]:,.0f} | {row[3]:.1f} | {row[4]:.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
