"""The outbox under several real senders: every event reaches every endpoint once, and a killed sender loses nothing.

Real ``loyalty worker`` processes (each sends from its own thread, as in
production) send to a local receiver that checks every signature with
the ``standardwebhooks`` library and counts ``webhook-id`` per endpoint,
while this test posts earnings with the ledger, each with its event in
the posting's transaction, some rolled back. On SQLite the senders queue
for the write lock; on PostgreSQL they share the work with ``SKIP
LOCKED``. The workers run with a lease of a few seconds (the lease's
length is the only thing changed), so a killed sender's delivery is due
again within the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty.invariants import verify
from loyalty.ledger import Ledger
from loyalty.models import Delivery, Destination, OutboxEvent
from loyalty.programs.members import enrol
from tests.helpers.outbound import SECRET, Receiver, post_earning

pytestmark = [pytest.mark.plugins("tests.helpers.outbound"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("/a", "/b", "/c")
#: A worker whose lease is LOYALTY_TEST_LEASE seconds: the one thing these tests change in it.
BOOT = (
    "import os, datetime\n"
    "from loyalty.messages import sending\n"
    "sending.LEASE = datetime.timedelta(seconds=float(os.environ['LOYALTY_TEST_LEASE']))\n"
    "from loyalty.console import main\n"
    "main()\n"
)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoints(session, program, clock, receiver):
    """Three endpoints of the ``http`` channel on the receiver, each wanting every points.earned (what the test posts; enrolments are told too)."""
    for path in PATHS:
        session.add(
            Destination(
                program_id=program.id,
                channel="http",
                name=path,
                events=["points.earned"],
                config={"url": receiver.url(path), "secret": SECRET},
                status="active",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    session.commit()
    return {d.id: d.name for d in session.scalars(select(Destination))}


@pytest.fixture
def members(session, program, clock):
    made = [enrol(session, program, external_id=f"m{n}", clock=clock)[0] for n in range(12)]
    session.commit()
    return made


@pytest.fixture
def workers(app, tmp_path):
    """``start(lease=…)`` starts a ``loyalty worker`` on the test's database; all are stopped after the test."""
    started = []

    def start(*, lease: float = 120.0, url: str | None = None):
        log = tmp_path / f"worker-{len(started)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": url or app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "test",
            "LOYALTY_INSTANCE_PATH": str(tmp_path),
            "LOYALTY_PLUGINS": '["tests.helpers.outbound"]',
            "LOYALTY_TEST_LEASE": str(lease),
        }
        process = subprocess.Popen(
            [sys.executable, "-c", BOOT, "worker", "--idle", "0.05"],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        return process, log

    yield start
    for process, _ in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process, log) -> str:
    """SIGTERM: the worker lets the sends under way finish, records them and exits cleanly."""
    assert process.poll() is None, log.read_text()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()
    return log.read_text()


def wait_for(condition, what: str, *, seconds: float = 180.0, logs=()):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {seconds} s:\n" + "\n".join(log.read_text()[-3000:] for log in logs))
        time.sleep(0.05)
    return result


def settled(session, expected: int) -> bool:
    """Every committed event fanned out, and ``expected`` deliveries, none of them still to go.

    The transaction ends before the answer: on SQLite it holds the write lock the senders wait for.
    """
    session.rollback()
    waiting = session.scalar(select(func.count()).where(OutboxEvent.dispatched_at.is_(None)))
    statuses = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    session.rollback()
    return waiting == 0 and statuses == {"delivered": expected}


class Postings:
    """Earnings posted one per transaction, each with its event; every ``rollback_every``-th is rolled back."""

    def __init__(self, session, clock, members, rollback_every: int = 7):
        self.session, self.members, self.rollback_every = session, members, rollback_every
        self.ledger = Ledger(session, clock)
        self.committed: list[str] = []
        self.rolled_back: list[str] = []
        self.count = 0

    def post(self, n: int) -> None:
        for _ in range(n):
            self.count += 1
            member = self.members[self.count % len(self.members)]
            uids = post_earning(self.session, self.ledger, member, self.count % 50 + 1, key=f"earn-{self.count}")
            if self.count % self.rollback_every == 0:
                self.session.rollback()
                self.rolled_back += uids
            else:
                self.session.commit()
                self.committed += uids


def assert_received_as_recorded(session, receiver, endpoints, postings) -> Counter:
    """Each committed event at each endpoint at least once, and more often only as often as it was attempted."""
    session.rollback()
    uids = dict(
        session.execute(select(OutboxEvent.id, OutboxEvent.uid).where(OutboxEvent.type == "points.earned")).all()
    )
    assert set(uids.values()) == set(postings.committed)
    assert not set(postings.rolled_back) & set(uids.values())
    counts = receiver.counts()
    assert not receiver.refused, receiver.refused  # every signature verified
    assert not {uid for _, uid in counts} & set(postings.rolled_back)  # a rolled-back event never left
    attempts = {
        (endpoints[destination], uids[event]): tries
        for destination, event, tries in session.execute(
            select(Delivery.destination_id, Delivery.event_id, Delivery.attempts)
        )
    }
    assert set(attempts) == {(path, uid) for path in PATHS for uid in postings.committed}
    assert set(counts) == set(attempts)
    for key, received in counts.items():
        assert 1 <= received <= attempts[key], (key, received, attempts[key])
    return Counter(attempts)


def test_several_workers_send_each_event_to_each_endpoint_exactly_once(
    app, session, clock, members, endpoints, receiver, workers, runner
):
    receiver.delay["/c"] = 0.05  # one slower endpoint, so the senders are at work while the postings go on
    postings = Postings(session, clock, members)
    postings.post(40)
    started = [workers() for _ in range(3)]
    logs = [log for _, log in started]
    wait_for(lambda: len(receiver.received) >= 10, "first deliveries", logs=logs)
    postings.post(160)  # committed while the senders work
    wait_for(lambda: settled(session, 3 * len(postings.committed)), "everything delivered", logs=logs)
    outputs = [stop(process, log) for process, log in started]
    assert all("Traceback" not in output for output in outputs), outputs

    attempts = assert_received_as_recorded(session, receiver, endpoints, postings)
    assert set(attempts.values()) == {1}  # nothing failed: each delivery was tried once...
    assert set(receiver.counts().values()) == {1}  # ...and arrived once
    assert len(postings.rolled_back) == 200 // 7
    assert len(receiver.senders) >= 2, receiver.senders  # the work was shared: it proves something
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output


def test_a_worker_killed_mid_send_loses_nothing_and_its_delivery_goes_again_with_the_same_id(
    app, session, clock, members, endpoints, receiver, workers, runner
):
    lease = 3.0
    postings = Postings(session, clock, members)
    receiver.hold("/b")  # the first request to /b waits there: its sender is killed meanwhile
    postings.post(30)
    started = [workers(lease=lease) for _ in range(2)]
    logs = [log for _, log in started]
    wait_for(receiver.held.is_set, "a held request", logs=logs)
    victim = next(process for process, _ in started if process.pid == receiver.held_pid)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    receiver.release()  # its answer goes nowhere
    postings.post(30)  # committed while the survivor works
    survivor = next((process, log) for process, log in started if process is not victim)
    wait_for(lambda: settled(session, 3 * len(postings.committed)), "everything delivered", logs=logs)
    output = stop(*survivor)
    assert "Traceback" not in output, output

    attempts = assert_received_as_recorded(session, receiver, endpoints, postings)
    held = ("/b", receiver.held_id)
    assert attempts[held] == 2 and receiver.counts()[held] == 1  # tried twice, the same webhook-id, arrived once
    again = max(attempts.values())
    assert again == 2  # nothing was tried more than once more
    assert not session.scalar(select(func.count()).where(Delivery.status == "sending"))
    assert not verify(session)
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
