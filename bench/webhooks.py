"""Webhook intake throughput and latency on a store's mix, against bare baselines, all under gunicorn.

For SQLite and PostgreSQL: builds a fresh database with the migrations, two
identical programs set up with the ``loyalty`` CLI (``store_mix.program_commands``:
base rate, a SKU multiplier, first-order and sign-up bonuses, three tiers,
referral terms, a 14-day return window, a Shopify storefront), then starts,
each under gunicorn with 2 workers and an access log:

* **bare receiver** (``bench/baseline_app.py:app``): HMAC, inbox insert with
  the platform's dedupe, one transfer, one balance update, commit;
* **bare, inbox insert only** (``baseline_app:inbox_only``): HMAC and the
  inbox insert: the least a queued intake does before acknowledging;
* **platform inline**: ``loyalty serve`` processing each delivery in the
  request (verify, store, enrol or find the member, record the order, run
  the rules, post to the ledger, commit);
* **platform queued**: ``loyalty serve`` with ``LOYALTY_WEBHOOK_PROCESSING='"queued"'``
  and one ``loyalty worker`` (``--pg-workers`` on PostgreSQL) started by this
  script, timed until every delivery is processed.

A separate process sends the load (``bench/store_mix.py``: ``store``, the
default, or the first version's ``easy``), built and signed before the
clock starts, over keep-alive HTTP at a fixed concurrency; a refund, a
cancellation or a retry is sent only once its order's (or first sending's)
answer is back. Rounds are interleaved (each round: every server in turn,
each with the round's deliveries: the two platform servers have a program
each) and the medians reported: acknowledged/s (the HTTP side), processed/s
(until every delivery is processed), the backlog's drain time after the
load's last answer, p50/p99 latency, and the CPU time the whole machine
spent a delivery (load generator, server, worker and database together,
from ``/proc/stat``: on two cores what a delivery costs the machine bounds
the throughput). Then every answer and every stored
delivery's status is checked, and ``loyalty verify`` run. Usage::

    .venv/bin/python bench/webhooks.py [--scenario store|easy] [--requests 6000] [--customers 5000]
        [--concurrency 16] [--rounds 3] [--seed 1] [--skip-postgres | --skip-sqlite] [--pg-url URL]
        [--pg-workers 1] [--worker-idle 0.05] [--port-base 8600]
    .venv/bin/python bench/webhooks.py --in-process [--scenario store|easy] [--requests 1000]   # per-delivery cost
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import store_mix
from sqlalchemy import create_engine, text
from store_mix import SECRET

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WARM_UP = 200
SERVERS = ("bare", "bare_inbox", "inline", "queued")
NAMES = {
    "bare": "bare receiver (HMAC, inbox insert with dedupe, one transfer, one balance update)",
    "bare_inbox": "bare, inbox insert only",
    "inline": "platform, processing in the request",
    "queued": "platform, queued + one `loyalty worker` (timed until all processed)",
}
QUEUED = {"bare": False, "bare_inbox": True, "inline": False, "queued": True}
SLUGS = {"inline": "bench-inline", "queued": "bench-queued"}

BASELINE_DDL = {
    "sqlite": [
        "CREATE TABLE bench_inbox (id INTEGER PRIMARY KEY, delivery_id VARCHAR(255) NOT NULL UNIQUE, body BLOB)",
        "CREATE TABLE bench_inbox_only (id INTEGER PRIMARY KEY, delivery_id VARCHAR(255) NOT NULL UNIQUE, body BLOB)",
        "CREATE TABLE bench_transfers (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMP NOT NULL)",
        "CREATE TABLE bench_balances (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
    "postgresql": [
        "CREATE TABLE bench_inbox (id BIGSERIAL PRIMARY KEY, delivery_id VARCHAR(255) NOT NULL UNIQUE, body BYTEA)",
        "CREATE TABLE bench_inbox_only (id BIGSERIAL PRIMARY KEY, delivery_id VARCHAR(255) NOT NULL UNIQUE, body BYTEA)",
        "CREATE TABLE bench_transfers (id BIGSERIAL PRIMARY KEY, account_id BIGINT NOT NULL,"
        " amount BIGINT NOT NULL, idempotency_key VARCHAR(255) NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
        "CREATE TABLE bench_balances (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
    ],
}


# --- the loads ---------------------------------------------------------------------------------------


def build_rounds(args) -> tuple[list, list[list]]:
    """The warm-up's deliveries and each round's, built once (and used for every server and both databases)."""
    if args.scenario == "easy":
        # As the first version: the warm-up enrols the 200 customers; every round is new orders from them.
        return store_mix.easy_load(0, WARM_UP), [
            store_mix.easy_load(1000 + r * args.requests, args.requests) for r in range(args.rounds)
        ]
    start = datetime.now(UTC).replace(microsecond=0)
    # The warm-up (warms the processes, not the program) has customers of its own: it enrols none of the rounds'.
    warm = store_mix.store_mix(WARM_UP, WARM_UP, args.seed, namespace=0, start=start)
    rounds = [
        store_mix.store_mix(args.requests, args.customers, args.seed + r, namespace=r + 1, start=start)
        for r in range(args.rounds)
    ]
    return warm, rounds


def load(deliveries_file: str, port: int, path: str, concurrency: int, queued: bool) -> dict:
    """Send the deliveries (already built and signed) over ``concurrency`` keep-alive connections."""
    import http.client

    with open(deliveries_file, "rb") as file:
        deliveries = pickle.load(file)
    answered = [threading.Event() for _ in deliveries]
    expected = [store_mix.expected_answer(d, queued) for d in deliveries]
    latencies: list[float] = []
    wrong: Counter = Counter()
    lock = threading.Lock()
    cursor = iter(range(len(deliveries)))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            delivery = deliveries[index]
            if delivery.after is not None:
                answered[delivery.after].wait()  # a store refunds what it sold, retries what it sent
            began = time.perf_counter()
            conn.request("POST", path, body=delivery.body, headers=delivery.headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - began
            answered[index].set()
            try:
                status = json.loads(answer).get("status")
            except ValueError:
                status = f"HTTP {response.status}"
            with lock:
                latencies.append(elapsed)
                if status != expected[index]:
                    wrong[f"{delivery.kind}: {status} (expected {expected[index]})"] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began, clock = time.time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - clock
    latencies.sort()
    return {
        "began": began,
        "ended": began + wall,
        "rate": len(deliveries) / wall,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "wrong": dict(wrong),
    }


def machine_cpu() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux's ``/proc/stat``; None elsewhere).

    Busy is everything but idle and I/O wait, in every process: the load
    generator, the servers, the worker and the database. Over a round it
    says what a delivery costs the machine, which on two cores decides the
    throughput more than any one process's latency does.
    """
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return None
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def run_load(deliveries_file: str, port: int, path: str, concurrency: int, queued: bool) -> dict:
    """The load generator in a separate process, so the servers and it don't share a GIL."""
    command = [sys.executable, __file__, "--load", deliveries_file, str(port), path, str(concurrency), str(int(queued))]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


# --- servers -----------------------------------------------------------------------------------------


def wait_until_up(port: int, path: str) -> None:
    import http.client

    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def start(command: list[str], env: dict, port: int | None = None, probe: str = "/") -> subprocess.Popen:
    """Start a server (or the worker); a port something else already answers on is an error, not that server."""
    if port is not None:
        import socket

        with socket.socket() as probe_socket:
            if probe_socket.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is taken (a server of an earlier run?): choose --port-base")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    if port is not None:
        wait_until_up(port, probe)
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} on port {port} exited ({process.returncode})")
    return process


def loyalty(args: list[str], env: dict) -> str:
    done = subprocess.run([str(BIN / "loyalty"), *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"loyalty {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


def serve_command(port: int, env: dict) -> list[str]:
    """``loyalty serve`` with 2 workers; ``--no-worker`` where ``serve`` has it (this script starts the worker)."""
    command = [str(BIN / "loyalty"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    return command + (["--no-worker"] if "--no-worker" in loyalty(["serve", "--help"], env) else [])


def run_commands(commands: list[list[str]]) -> None:
    """``loyalty`` commands one after the other in this process: the CLI's own code, without a start-up for each."""
    from loyalty.console import main

    for command in commands:
        main.main(args=command, prog_name="loyalty", standalone_mode=False)


def prepare(url: str, env: dict, scenario: str, accounts: int) -> None:
    """The schema, the two programs (by the ``loyalty`` CLI, in one process), the baselines' tables."""
    commands = [["db", "upgrade"], *(c for slug in SLUGS.values() for c in store_mix.program_commands(scenario, slug))]
    done = subprocess.run(
        [sys.executable, __file__, "--commands", json.dumps(commands)], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"setting up the programs failed: {done.stderr[-3000:]}")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in BASELINE_DDL[engine.dialect.name]:
            conn.execute(text(statement))
        conn.execute(
            text("INSERT INTO bench_balances (id, balance) VALUES (:i, 0)"), [{"i": i} for i in range(accounts)]
        )
    engine.dispose()


#: Which tables autovacuum would analyze now: PostgreSQL's default thresholds (50 rows plus 10% changed).
DUE_FOR_ANALYZE = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)"
)


class Analyzer(threading.Thread):
    """ANALYZE what autovacuum would, every few seconds, on a server whose autovacuum is off.

    A production PostgreSQL runs autovacuum (the default): once a table has
    changed by 50 rows and a tenth, it is analyzed, which also makes every
    backend plan its statements afresh. With it off (as on this machine's
    shared server), the tables are never analyzed, and the plans a
    long-lived worker made while they were nearly empty (sequential scans,
    in the foreign-key checks too) stay as they grow: the worker ran at
    half speed by the third round, a slowdown no real store would see.
    """

    def __init__(self, url: str, every: float = 5.0):
        super().__init__(daemon=True)
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self.every, self.stopping, self.runs = every, threading.Event(), 0

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            with self.engine.connect() as conn:
                for table in conn.execute(DUE_FOR_ANALYZE).scalars().all():
                    conn.execute(text(f'ANALYZE "{table}"'))
                    self.runs += 1

    def stop(self) -> int:
        self.stopping.set()
        self.join()
        self.engine.dispose()
        return self.runs


def analyzer_for(url: str) -> Analyzer | None:
    """An :class:`Analyzer` when the server is PostgreSQL with autovacuum off, else None."""
    if not url.startswith("postgresql") or scalar(url, "SHOW autovacuum") == "on":
        return None
    print("  autovacuum is off on this server: the benchmark analyzes the tables as it would", file=sys.stderr)
    return Analyzer(url)


def scalar(url: str, query: str, **params):
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(query), params).scalar()
    engine.dispose()
    return value


def wait_until_processed(url: str, after: int, count: int, timeout: float = 1800) -> float:
    """The time.time() at which ``count`` deliveries stored after id ``after`` are no longer waiting (every 20 ms)."""
    engine = create_engine(url)
    query = text("SELECT count(*) FROM webhook_deliveries WHERE id > :after AND status <> 'received'")
    deadline = time.time() + timeout
    with engine.connect() as conn:
        while conn.execute(query, {"after": after}).scalar() < count:
            conn.rollback()
            if time.time() > deadline:
                raise RuntimeError(f"deliveries after {after} still not processed after {timeout} s")
            time.sleep(0.02)
    engine.dispose()
    return time.time()


def check_result(url: str, env: dict, stored: dict[str, int]) -> list[str]:
    """Every stored delivery processed (none failed, deferred or waiting), the bare inboxes complete, the ledger sound:
    what is not, as sentences."""
    problems = []
    engine = create_engine(url)
    with engine.connect() as conn:
        for server, slug in SLUGS.items():
            statuses = dict(
                conn.execute(
                    text(
                        "SELECT d.status, count(*) FROM webhook_deliveries d JOIN programs p ON p.id = d.program_id"
                        " WHERE p.slug = :slug GROUP BY d.status"
                    ),
                    {"slug": slug},
                ).all()
            )
            if statuses != {"processed": stored[server]}:
                problems.append(f"{server}: deliveries {statuses}, expected {stored[server]} processed")
        for server, table in (("bare", "bench_inbox"), ("bare_inbox", "bench_inbox_only")):
            count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 (our table names)
            if count != stored[server]:
                problems.append(f"{server}: {count} inbox rows, expected {stored[server]}")
    engine.dispose()
    verify = subprocess.run([str(BIN / "loyalty"), "verify"], env=env, capture_output=True, text=True, cwd=ROOT)
    if verify.returncode:
        problems.append(f"loyalty verify: {verify.stdout}{verify.stderr}")
    return problems


def measure(label: str, url: str, args, warm: list, rounds: list[list], port_base: int, problems: list) -> dict:
    """Every server, warmed up, then ``rounds`` interleaved rounds; the medians per server (what went wrong: ``problems``)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOYALTY_INSTANCE_PATH": tempfile.mkdtemp(),
        "BENCH_DATABASE_URL": url,
        "BENCH_SECRET": SECRET,
        "BENCH_ACCOUNTS": str(args.customers if args.scenario == "store" else store_mix.EASY_CUSTOMERS),
    }
    prepare(url, env, args.scenario, int(env["BENCH_ACCOUNTS"]))
    ports = {name: port_base + i for i, name in enumerate(SERVERS)}
    gunicorn = [str(BIN / "gunicorn"), "--workers", "2", "--access-logfile", "-", "--pythonpath", str(ROOT / "bench")]
    queued_env = {**env, "LOYALTY_WEBHOOK_PROCESSING": '"queued"'}
    workers = 1 if label == "SQLite" else args.pg_workers  # SQLite has one writer: a second would only wait
    processes = [
        start([*gunicorn, "--bind", f"127.0.0.1:{ports['bare']}", "baseline_app:app"], env, ports["bare"]),
        start(
            [*gunicorn, "--bind", f"127.0.0.1:{ports['bare_inbox']}", "baseline_app:inbox_only"],
            env,
            ports["bare_inbox"],
        ),
        start(serve_command(ports["inline"], env), env, ports["inline"], "/healthz"),
        start(serve_command(ports["queued"], env), queued_env, ports["queued"], "/healthz"),
    ]
    processes += [
        start([str(BIN / "loyalty"), "worker", "--idle", str(args.worker_idle)], queued_env) for _ in range(workers)
    ]
    paths = {"bare": "/", "bare_inbox": "/", **{server: store_mix.path(slug) for server, slug in SLUGS.items()}}
    stored = dict.fromkeys(SERVERS, 0)
    runs: dict[str, list[dict]] = {name: [] for name in SERVERS}
    files = tempfile.mkdtemp()

    def send(server: str, deliveries: list, name: str) -> dict:
        file = os.path.join(files, f"{name}.pickle")
        if not os.path.exists(file):
            with open(file, "wb") as out:
                pickle.dump(deliveries, out)
        count = sum(d.stored for d in deliveries)
        after = scalar(url, "SELECT coalesce(max(id), 0) FROM webhook_deliveries") if server == "queued" else 0
        busy = machine_cpu()
        run = run_load(file, ports[server], paths[server], args.concurrency, QUEUED[server])
        if run["wrong"]:
            problems.append(f"{label} {server} ({name}): unexpected answers {run['wrong']}")
        stored[server] += count
        if server == "queued":  # processed: until the worker has taken every delivery out of the inbox
            done = wait_until_processed(url, after, count)
            run["processed"] = len(deliveries) / (done - run["began"])
            run["drain"] = done - run["ended"]
        elif server != "bare_inbox":
            run["processed"] = run["rate"]
        if busy is not None:
            run["cpu"] = (machine_cpu() - busy) / len(deliveries) * 1000
        return run

    analyzer = analyzer_for(url)
    if analyzer is not None:
        analyzer.start()
    try:
        for server in SERVERS:
            send(server, warm, "warm")
        for number, deliveries in enumerate(rounds):  # interleaved, so drift hits every server alike
            for server in SERVERS:
                runs[server].append(run := send(server, deliveries, f"round{number}"))
                print(
                    f"  {label} round {number + 1} {server:10} acknowledged {run['rate']:7.0f}/s"
                    + (f" processed {run['processed']:7.0f}/s" if "processed" in run else "")
                    + (f" drain {run['drain']:5.1f} s" if "drain" in run else "")
                    + f" p50 {run['p50']:6.1f} ms p99 {run['p99']:6.1f} ms"
                    + (f" machine CPU {run['cpu']:5.2f} ms a delivery" if "cpu" in run else ""),
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        if analyzer is not None:
            print(f"  {label}: {analyzer.stop()} tables analyzed during the run", file=sys.stderr)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    problems += [f"{label} {problem}" for problem in check_result(url, env, stored)]
    median = lambda server, key: statistics.median(r[key] for r in runs[server]) if key in runs[server][0] else None  # noqa: E731
    return {
        server: {key: median(server, key) for key in ("rate", "processed", "drain", "p50", "p99", "cpu")}
        for server in SERVERS
    }


def table(results: dict[str, dict]) -> str:
    """The Markdown table: a row per backend and server, ratios against the baselines measured in the same run."""
    lines = [
        "| backend | server | acknowledged/s | processed/s | processed / bare | acknowledged / bare inbox-only"
        " | backlog drained after the load (s) | p50 (ms) | p99 (ms) | machine CPU a delivery (ms) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, figures in results.items():
        bare, inbox = figures["bare"]["processed"], figures["bare_inbox"]["rate"]
        for server in SERVERS:
            row = figures[server]
            processed = row["processed"]
            cells = [
                backend,
                NAMES[server],
                f"{row['rate']:,.0f}",
                f"{processed:,.0f}" if processed is not None else "—",
                f"{processed / bare:.2f}" if processed is not None else "—",
                f"{row['rate'] / inbox:.2f}" if QUEUED[server] else "—",
                f"{row['drain']:.1f}" if row["drain"] is not None else "—",
                f"{row['p50']:.1f}",
                f"{row['p99']:.1f}",
                f"{row['cpu']:.2f}" if row["cpu"] is not None else "—",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- in one process ----------------------------------------------------------------------------------


def in_process(args) -> None:
    """Per-delivery cost without HTTP or contention: Flask's test client on SQLite, one process."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.registry import current_registry
    from loyalty.webhooks import inbox

    warm, rounds = build_rounds(argparse.Namespace(**{**vars(args), "rounds": 1}))
    figures = {}
    for mode in ("inline", "queued"):
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/p.db", "WEBHOOK_PROCESSING": mode})
            with app.app_context():
                upgrade()
            runner = app.test_cli_runner()
            for command in store_mix.program_commands(args.scenario):
                result = runner.invoke(args=command)
                assert result.exit_code == 0, result.output
            client = app.test_client()

            def send(deliveries):
                for delivery in deliveries:
                    response = client.post(store_mix.path(), data=delivery.body, headers=delivery.headers)
                    assert response.get_json()["status"] == store_mix.expected_answer(delivery, mode == "queued")

            def drain():
                with app.app_context():
                    while inbox.process_batch(db.session, registry=current_registry(), limit=100):
                        pass

            send(warm)
            drain()
            began = time.perf_counter()
            send(rounds[0])
            figures[f"{mode}: request"] = (time.perf_counter() - began) / len(rounds[0]) * 1000
            if mode == "queued":
                began = time.perf_counter()
                drain()
                figures["queued: worker, batches of 100"] = (time.perf_counter() - began) / len(rounds[0]) * 1000
    print(f"{args.scenario} load: {store_mix.summary(rounds[0])}")
    print("| in one process (SQLite) | ms per delivery |")
    print("|---|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.2f} |")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--commands":
        run_commands(json.loads(sys.argv[2]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        deliveries_file, port, path, concurrency, queued = sys.argv[2:7]
        print(json.dumps(load(deliveries_file, int(port), path, int(concurrency), queued == "1")))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("store", "easy"), default="store", help="the load (bench/store_mix.py)")
    parser.add_argument(
        "--requests", type=int, default=None, help="deliveries per round (6000; 2000 easy; 1000 in-process)"
    )
    parser.add_argument("--customers", type=int, default=5000, help="store: distinct customers a round may draw on")
    parser.add_argument("--concurrency", type=int, default=None, help="connections (16; 8 easy)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-process", nargs="?", type=int, const=0, help="per-delivery cost in one process instead ([N]: --requests)"
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench")
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--port-base", type=int, default=8600, help="servers on this port and the next 3 (+10 for PG)")
    parser.add_argument(
        "--worker-idle",
        type=float,
        default=0.05,
        help="loyalty worker --idle: how long a worker lets deliveries gather after a partial batch",
    )
    parser.add_argument(
        "--pg-workers", type=int, default=1, help="loyalty worker processes on PostgreSQL (SQLite: always 1)"
    )
    args = parser.parse_args()
    easy, in_one_process = args.scenario == "easy", args.in_process is not None
    if args.requests is None:
        args.requests = (args.in_process or 1000) if in_one_process else (2000 if easy else 6000)
    if args.concurrency is None:
        args.concurrency = 8 if easy else 16
    if in_one_process:
        in_process(args)
        return 0
    from ledger import ensure_database, reset

    warm, rounds = build_rounds(args)
    results, problems = {}, []
    if not args.skip_postgres:  # first: the production figures
        ensure_database(args.pg_url)
        reset(args.pg_url)
        results["PostgreSQL"] = measure("PostgreSQL", args.pg_url, args, warm, rounds, args.port_base + 10, problems)
        reset(args.pg_url)
        print(table(results), file=sys.stderr, flush=True)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            results["SQLite"] = measure("SQLite", url, args, warm, rounds, args.port_base, problems)
    print(f"{args.scenario} load, each round: {store_mix.summary(rounds[0])}; {args.concurrency} connections")
    print(table(results))
    for problem in problems:  # figures with these are not comparable: say so under the table
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
