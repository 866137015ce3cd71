"""Outbound webhooks: the sender's rate to a local receiver against a bare loop of signed POSTs, in the same run.

For SQLite and PostgreSQL: a fresh database from the migrations, a program
with endpoints of the built-in ``webhook`` channel on a local receiver,
and events from real postings (members enrolled, ``Ledger.earn`` with its
``points.earned`` event in the posting's transaction). Then

* **baseline**: the same payloads, signed the same way (``standardwebhooks``),
  POSTed with the same HTTP client (``httpx``, one client, keep-alive) to
  the same receiver, with no database: once in one thread (the bare loop)
  and once in as many threads as the sender sends at once;
* **sender**: ``sending.send_due`` (fan-out, claim, send in its pool of
  threads, one transaction per recorded send), timed until every delivery
  is recorded.

Then a realistic load: many members' postings, three fast endpoints and one
that takes ``--slow`` seconds to answer; ``sending.run`` (the worker's
thread) sends, and the fast endpoints' deliveries are timed apart, to show
the slow one does not hold them back.

The receiver (``--serve``, started in its own process so it does not share
the sender's interpreter) is a threaded ``http.server`` that answers 200 at
once and verifies nothing (``--verify`` checks every signature with
``standardwebhooks``). Usage::

    .venv/bin/python bench/outbound.py [--events 1000] [--endpoints 4] [--slow 2] [--latency 0] [--skip-postgres]
        [--database-url postgresql+psycopg://postgres@127.0.0.1/bench_outbound] [--verify]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh import reset  # noqa: E402

PORT = 8641
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- the receiver (its own process) -------------------------------------------------------


def serve(port: int, slow: float, verify: bool, latency: float = 0.0) -> None:
    """Answer 200 to every POST after ``latency`` seconds (``slow`` on /slow); GET /count: how many arrived per path."""
    from standardwebhooks import Webhook

    verifier = Webhook(SECRET) if verify else None
    counts: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if verifier is not None:
                verifier.verify(body, {k.lower(): v for k, v in self.headers.items()})
            if self.path == "/slow":
                time.sleep(slow)
            elif latency:
                time.sleep(latency)
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
            self._answer(b"")

        def do_GET(self):
            with lock:
                self._answer(json.dumps(counts).encode())
            if self.path == "/reset":
                with lock:
                    counts.clear()

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def received(port: int, reset_after: bool = False) -> dict:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/{'reset' if reset_after else 'count'}").json()


# --- the runs ---------------------------------------------------------------------------------


def setup(url: str, endpoints: list[str], events: int, members: int, port: int):
    """A fresh database, a program with ``endpoints`` (paths on the receiver) and ``events`` committed postings."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.clock import SystemClock
    from loyalty.db import db
    from loyalty.ledger import Ledger
    from loyalty.messages import destinations, outbox
    from loyalty.programs.members import enrol
    from loyalty.programs.program import create_program
    from loyalty.registry import current_registry

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "OUTBOUND_ALLOW_PRIVATE": True, "CLOCK": SystemClock()})
    context = app.app_context()
    context.push()
    upgrade()
    session, clock = db.session, SystemClock()
    program = create_program(session, slug="bench", name="Bench", currency="USD", clock=clock)
    for path in endpoints:
        destinations.add(
            session,
            program,
            channel="webhook",
            config={"url": f"http://127.0.0.1:{port}{path}", "secret": SECRET},
            events=["*"],
            clock=clock,
            registry=current_registry(),
            settings=app.config,
            name=path,
        )
    people = [enrol(session, program, external_id=f"m{n}", clock=clock)[0] for n in range(members)]
    session.commit()
    ledger = Ledger(session, clock)
    from sqlalchemy import func, select

    from loyalty.models import OutboxEvent

    for n in range(events):
        member = people[n % members]
        before = session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
        ledger.earn(member, n % 90 + 10, key=f"bench-{n}")
        if not session.scalar(select(func.count()).where(OutboxEvent.id > before)):  # until earnings record it
            outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
        session.commit()
    return app, context


def payloads(app) -> list[tuple[str, str]]:
    """What the baseline sends: each event's payload as the channel sends it (built by the fan-out's own code)."""
    from sqlalchemy import select

    from loyalty.db import db
    from loyalty.messages.payloads import build
    from loyalty.models import Member, OutboxEvent, Program

    session = db.session
    program = session.scalar(select(Program))
    members = {m.id: m for m in session.scalars(select(Member))}
    return [
        (e.uid, json.dumps(build(e, program, members.get(e.member_id)))) for e in session.scalars(select(OutboxEvent))
    ]


def baseline(port: int, items: list[tuple[str, str]], endpoints: list[str], threads: int) -> float:
    """Signed POSTs of every payload to every endpoint, no database; deliveries per second."""
    import httpx
    from standardwebhooks import Webhook

    signer = Webhook(SECRET)
    client = httpx.Client(follow_redirects=False, trust_env=False)
    work = [(path, uid, body) for uid, body in items for path in endpoints]

    def post(item):
        path, uid, body = item
        signature = signer.sign(uid, datetime.now(timezone.utc), body)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": uid,
            "webhook-timestamp": str(int(time.time())),
            "webhook-signature": signature,
        }
        answer = client.post(f"http://127.0.0.1:{port}{path}", content=body.encode(), headers=headers, timeout=10)
        assert answer.status_code == 200

    began = time.perf_counter()
    if threads == 1:
        for item in work:
            post(item)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(post, work))
    took = time.perf_counter() - began
    client.close()
    return len(work) / took


def sender_rate(app) -> tuple[float, int]:
    from sqlalchemy import func, select

    from loyalty.clock import SystemClock
    from loyalty.db import db
    from loyalty.messages import sending
    from loyalty.models import Delivery
    from loyalty.registry import current_registry

    began = time.perf_counter()
    sending.send_due(db.session, registry=current_registry(), settings=app.config, clock=SystemClock())
    took = time.perf_counter() - began
    delivered = db.session.scalar(select(func.count()).where(Delivery.status == "delivered"))
    db.session.commit()
    return delivered / took, delivered


def with_a_slow_endpoint(app, port: int, fast: list[str], events: int) -> dict:
    """``sending.run`` until the fast endpoints have every event; their rate, and what the slow one got meanwhile."""
    from loyalty.clock import SystemClock
    from loyalty.db import db
    from loyalty.messages import sending
    from loyalty.registry import current_registry

    stop = threading.Event()
    registry = current_registry()

    def run():
        with app.app_context():
            sending.run(db.session, registry=registry, settings=app.config, clock=SystemClock(), stop=stop, idle=0.05)
            db.session.remove()

    thread = threading.Thread(target=run)
    began = time.perf_counter()
    thread.start()
    while True:
        counts = received(port)
        if all(counts.get(path, 0) >= events for path in fast):
            break
        time.sleep(0.02)
    took = time.perf_counter() - began
    slow = received(port).get("/slow", 0)
    stop.set()
    thread.join()
    return {"fast_rate": len(fast) * events / took, "took": took, "slow_done": slow}


def measure(label: str, url: str, args) -> dict:
    from loyalty.db import db

    endpoints = [f"/e{n}" for n in range(args.endpoints)]
    app, context = setup(url, endpoints, args.events, args.members, args.port)
    items = payloads(app)
    received(args.port, reset_after=True)
    from loyalty.messages import sending

    threads = min(sending.CONCURRENCY, sending.PER_DESTINATION * len(endpoints))
    loop = baseline(args.port, items, endpoints, 1)
    pooled = baseline(args.port, items, endpoints, threads)
    received(args.port, reset_after=True)
    rate, delivered = sender_rate(app)
    assert delivered == len(items) * len(endpoints), (delivered, len(items))
    db.session.remove()
    db.engine.dispose()
    context.pop()

    fast = ["/f0", "/f1", "/f2"]
    app, context = setup(url, [*fast, "/slow"], args.events, args.members, args.port)
    received(args.port, reset_after=True)
    slow = with_a_slow_endpoint(app, args.port, fast, args.events)
    db.session.remove()
    db.engine.dispose()
    context.pop()
    app, context = setup(url, fast, args.events, args.members, args.port)
    received(args.port, reset_after=True)
    alone = with_a_slow_endpoint(app, args.port, fast, args.events)
    db.session.remove()
    db.engine.dispose()
    context.pop()
    return {
        "label": label,
        "loop": loop,
        "pooled": pooled,
        "threads": threads,
        "sender": rate,
        "deliveries": delivered,
        "fast_with_slow": slow["fast_rate"],
        "fast_alone": alone["fast_rate"],
        "slow_done": slow["slow_done"],
        "took": slow["took"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds the slow endpoint takes to answer")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every other answer takes")
    parser.add_argument("--verify", action="store_true", help="the receiver verifies every signature")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1/bench_outbound")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.port, args.slow, args.verify, args.latency)
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(args.port), "--slow", str(args.slow)]
        + ["--latency", str(args.latency)]
        + (["--verify"] if args.verify else [])
    )
    try:
        for _ in range(100):
            try:
                received(args.port)
                break
            except Exception:
                time.sleep(0.1)
        print("$ " + " ".join([".venv/bin/python", "bench/outbound.py", *sys.argv[1:]]))
        print(
            f"receiver: {'verifies every signature' if args.verify else 'answers 200, verifies nothing'}"
            + (f", after {args.latency:g} s" if args.latency else "")
        )
        runs = []
        with tempfile.TemporaryDirectory() as folder:
            if not args.skip_sqlite:
                runs.append(measure("SQLite", f"sqlite:///{os.path.join(folder, 'bench.db')}", args))
            if not args.skip_postgres:
                runs.append(measure("PostgreSQL", args.database_url, args))
    finally:
        receiver.terminate()
        receiver.wait()
    print(
        f"\n{args.events} events x {args.endpoints} endpoints; the sender sends {runs[0]['threads']} at once"
        f" (CONCURRENCY, PER_DESTINATION per endpoint)\n"
    )
    print(
        "| backend | bare loop, 1 thread (/s) | bare, same threads (/s) | sender (/s) | sender / loop | sender / same threads |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['label']} | {r['loop']:,.0f} | {r['pooled']:,.0f} | {r['sender']:,.0f} | "
            f"{r['sender'] / r['loop']:.2f} | {r['sender'] / r['pooled']:.2f} |"
        )
    print(f"\n3 fast endpoints and one answering in {args.slow:g} s, {args.events} events each:\n")
    print("| backend | fast endpoints alone (/s) | beside the slow one (/s) | ratio | slow one meanwhile |")
    print("|---|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['label']} | {r['fast_alone']:,.0f} | {r['fast_with_slow']:,.0f} | "
            f"{r['fast_with_slow'] / r['fast_alone']:.2f} | {r['slow_done']} in {r['took']:.1f} s |"
        )


if __name__ == "__main__":
    main()
