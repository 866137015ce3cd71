"""``loyalty serve``: gunicorn and a supervised ``loyalty worker`` by default; alone with ``--no-worker`` or inline set.

Real processes: ``serve`` is spawned on the suite's database, a signed
Shopify delivery is posted to it, and what became of it is read back. The
process tree is read from ``/proc`` to see the worker start, and to see
that none of ``serve``'s processes is left once it is stopped.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from loyalty.cli import supervisor
from loyalty.models import WebhookDelivery
from tests.helpers import available
from tests.helpers.intake import SHOPIFY_MEMBER, shop  # noqa: F401 (fixture)
from tests.helpers.live_server import loyalty_serve
from tests.helpers.webhooks import fixture_bytes, shopify_headers

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc")


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, with its command line."""
    found: dict[int, str] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in map(int, children):
            try:
                found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            found.update(descendants(child))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            return result
        time.sleep(0.2)
    return result


def post_order(base: str, webhook_id: str):
    body = fixture_bytes("shopify/order_discount_code_paid.json")
    headers = {**shopify_headers(body, "orders/paid", webhook_id=webhook_id), "Content-Type": "application/json"}
    return requests.post(f"{base}/webhooks/acme/shopify", data=body, headers=headers, timeout=30)


def status_of(session, webhook_id: str) -> str | None:
    # Read and let go at once: on SQLite an open transaction holds the lock the worker needs.
    status = session.scalar(select(WebhookDelivery.status).where(WebhookDelivery.delivery_id == webhook_id))
    session.rollback()
    return status


def workers(pid: int) -> list[int]:
    return [child for child, command in descendants(pid).items() if command.split()[-1:] == ["worker"]]


def test_serve_runs_a_worker_that_processes_the_queued_webhooks_and_stops_with_it(
    shop, session, database_url, tmp_path
):
    with loyalty_serve(database_url, tmp_path) as (base, process):
        assert wait_for(lambda: workers(process.pid), 30), descendants(process.pid)
        tree = descendants(process.pid)
        answer = post_order(base, "serve-1")
        assert answer.status_code == 202 and answer.json()["status"] == "queued", answer.text
        assert wait_for(lambda: status_of(session, "serve-1") == "processed"), process.stderr_path.read_text()
        assert available(session, shop, SHOPIFY_MEMBER) > 0
        session.rollback()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert [pid for pid in tree if alive(pid)] == [], tree


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_no_process_outlives_a_killed_serve(shop, session, database_url, tmp_path):
    """SIGKILL gives serve no chance to stop its children: they are told by the kernel (PR_SET_PDEATHSIG)."""
    with loyalty_serve(database_url, tmp_path) as (base, process):
        assert wait_for(lambda: workers(process.pid), 30), descendants(process.pid)
        tree = descendants(process.pid)
        process.kill()
        process.wait(timeout=10)
        assert wait_for(lambda: not [pid for pid in tree if alive(pid)], 60), tree


def test_no_worker_serves_alone_and_processes_as_configured(shop, session, database_url, tmp_path):
    with loyalty_serve(database_url, tmp_path, "--no-worker") as (base, process):
        answer = post_order(base, "serve-2")
        assert answer.status_code == 200 and answer.json()["status"] == "processed", answer.text
        assert workers(process.pid) == []
        queued = {"LOYALTY_WEBHOOK_PROCESSING": '"queued"'}
    with loyalty_serve(database_url, tmp_path, "--no-worker", env=queued) as (base, process):
        answer = post_order(base, "serve-3")
        assert answer.status_code == 202 and answer.json()["status"] == "queued", answer.text
        time.sleep(1)
        assert workers(process.pid) == [] and status_of(session, "serve-3") == "received"


def test_an_explicit_inline_setting_is_respected_no_worker(shop, session, database_url, tmp_path):
    inline = {"LOYALTY_WEBHOOK_PROCESSING": '"inline"'}
    with loyalty_serve(database_url, tmp_path, env=inline) as (base, process):
        answer = post_order(base, "serve-4")
        assert answer.status_code == 200 and answer.json()["status"] == "processed", answer.text
        assert workers(process.pid) == []
    assert "no worker is started" in process.stderr_path.read_text()


def test_the_supervisor_restarts_a_worker_that_exits_and_stops_when_the_server_does(tmp_path, monkeypatch):
    starts = tmp_path / "starts"
    monkeypatch.setattr(supervisor, "FIRST_BACKOFF", 0.05)
    server = [sys.executable, "-c", "import time, sys; time.sleep(4); sys.exit(7)"]
    worker = [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x')"]  # starts, then exits at once
    code = supervisor.Supervisor(server, worker, dict(os.environ), poll=0.05).run()
    assert code == 7  # the server's exit is serve's
    assert len(starts.read_text()) >= 2  # restarted after it exited
