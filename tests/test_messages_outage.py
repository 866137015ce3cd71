"""The messages' sender rides out a database outage: it waits, carries on, and records the sends that were in flight.

In process (both databases) the outage is injected: the claim and the
settling raise what a lost connection raises. On PostgreSQL a real
``loyalty worker`` talks to the server through a relay that the test cuts
(:mod:`tests.helpers.db_proxy`, as ``tests/test_outages.py`` does for the
inbox): a send is under way when the server goes, its answer comes while
the server is away, and it is recorded once it is back, not sent again.
"""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.messages import sending
from loyalty.models import Delivery, Destination
from loyalty.outage import Outage
from loyalty.programs.members import enrol
from tests.helpers import channels
from tests.helpers.outbound import SECRET, Receiver, post_earning
from tests.test_messages_concurrency import Postings, settled, stop, wait_for, workers  # noqa: F401 (fixture)
from tests.test_outages import lost

pytestmark = pytest.mark.plugins(channels.Plugin(), "tests.helpers.outbound")


@pytest.fixture(autouse=True)
def _fresh_recorders():
    channels.reset()
    yield
    channels.reset()


def destination(session, program, clock, channel="recorder", **config):
    row = Destination(
        program_id=program.id,
        channel=channel,
        name=channel,
        events=["points.earned"],  # what the tests post (enrolments are told too)
        config=config,
        status="active",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(row)
    session.commit()
    return row


class Flaky:
    """Wraps a function: the first ``times`` calls raise a lost connection."""

    def __init__(self, real, times):
        self.real, self.times, self.calls = real, times, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.times:
            raise lost()
        return self.real(*args, **kwargs)


def run_sender(app, registry, clock):
    """``sending.run`` in a thread of its own, as the worker runs it; returns the thread and its stop event."""
    stop_event, result = threading.Event(), {}

    def target():
        with app.app_context():
            try:
                result["counts"] = sending.run(
                    db.session,
                    registry=registry,
                    settings=app.config,
                    clock=clock,
                    stop=stop_event,
                    idle=0.02,
                    outage=Outage("sender", sending.log, jitter=lambda: 0.0),
                )
            except BaseException as exc:  # the test reports it
                result["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, stop_event, result


def test_the_sender_waits_out_an_outage_and_records_the_sends_in_flight_after_it(
    app, session, registry, clock, program, monkeypatch, caplog
):
    destination(session, program, clock)
    member, _ = enrol(session, program, external_id="c-1", clock=clock)
    session.commit()
    ledger = Ledger(session, clock)
    for n in range(5):
        post_earning(session, ledger, member, 10 + n, key=f"earn-{n}")
        session.commit()
    claim = Flaky(sending.claim, 3)  # the database is away when the sender first looks
    settle = Flaky(sending.settle_many, 2)  # ...and again when the first answers come back
    monkeypatch.setattr(sending, "claim", claim)
    monkeypatch.setattr(sending, "settle_many", settle)
    with caplog.at_level(logging.INFO, logger="loyalty.messages"):
        thread, stop_event, result = run_sender(app, registry, clock)
        try:
            wait_for(lambda: settled(session, 5), "the deliveries recorded")
        finally:  # a sender left running would send the next tests' events
            stop_event.set()
            thread.join(30)
    assert "error" not in result, result
    assert claim.calls > 3 and settle.calls > 2
    rows = session.execute(select(Delivery.status, Delivery.attempts)).all()
    assert rows == [("delivered", 1)] * 5  # in flight during the outage: recorded after it, not sent again
    assert len(channels.RECORDER.messages) == 5
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 4 and "database unavailable" in lines[0] and "database back" in lines[1], lines


def test_a_bug_in_the_sender_stops_the_worker_with_an_error(app, runner, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sending, "run", broken)
    result = runner.invoke(args=["worker", "--idle", "0.05"])
    assert result.exit_code == 1
    assert "the messages' sender stopped on an error" in result.output


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_worker_sends_through_a_real_outage_and_settles_what_was_in_flight(
    app,
    session,
    program,
    clock,
    is_postgres,
    workers,  # noqa: F811
):
    if not is_postgres:
        pytest.skip("a relay in front of the PostgreSQL server")
    from tests.helpers.db_proxy import Relay

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    relay = Relay(url.host or "127.0.0.1", url.port or 5432).start()
    receiver = Receiver().start()
    try:
        destination(session, program, clock, "http", url=receiver.url("/hooks"), secret=SECRET)
        members = [enrol(session, program, external_id=f"m{n}", clock=clock)[0] for n in range(5)]
        session.commit()
        postings = Postings(session, clock, members, rollback_every=10**9)
        receiver.hold("/hooks")
        process, log = workers(url=url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False))
        postings.post(10)
        wait_for(receiver.held.is_set, "a send under way", logs=[log])
        relay.stop()  # the server goes away with a send in flight
        receiver.release(200)  # its answer comes while the database is away
        wait_for(lambda: "sender: database unavailable" in log.read_text(), "the outage noticed", logs=[log])
        postings.post(10)  # committed during the outage (this test's own connection is not relayed)
        relay.start()
        wait_for(lambda: settled(session, len(postings.committed)), "everything delivered", logs=[log])
        output = stop(process, log)
    finally:
        relay.stop()
        receiver.stop()
    assert "sender: database back" in output and "Traceback" not in output, output
    counts = receiver.counts()
    assert set(counts) == {("/hooks", uid) for uid in postings.committed}
    assert set(counts.values()) == {1}  # the one in flight was recorded after the outage, not sent again
    held = session.scalar(select(func.max(Delivery.attempts)))
    assert held == 1 and not session.scalar(select(func.count()).where(Delivery.status == "sending"))
