"""The worker and the scheduler ride out a database outage: nothing marked, nothing lost, nothing stuck.

The unit tests inject the errors a lost database raises and run on both
backends. The ``TestOnPostgres`` tests take real connections away from a
real worker process: ``pg_terminate_backend`` on its backends (picked by
their ``application_name`` in this database, nobody else's), and a relay
in front of the server that a test can cut (:mod:`tests.helpers.db_proxy`), which
is what a restart or a network failure looks like to the worker.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, PendingRollbackError

from loyalty import jobs
from loyalty.models import Entry, JobRun, WebhookDelivery
from loyalty.outage import Outage, is_outage
from loyalty.storefronts.connections import add_storefront
from loyalty.webhooks import inbox, worker
from tests.helpers.webhooks import SECRETS, shopify_delivery, shopify_headers


def lost(message="terminating connection due to administrator command") -> OperationalError:
    """What SQLAlchemy raises when the server ends the connection under a statement."""
    return OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown(message), connection_invalidated=True)


def sqlite_locked() -> sqlite3.OperationalError:
    """A real "database is locked": two connections that will not wait for each other."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        first = sqlite3.connect(f"{folder}/x.db", timeout=0, isolation_level=None)
        second = sqlite3.connect(f"{folder}/x.db", timeout=0, isolation_level=None)
        first.execute("BEGIN IMMEDIATE")
        try:
            second.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return exc
        finally:
            first.close(), second.close()
    raise AssertionError("no lock conflict")


def sqlite_unique() -> sqlite3.IntegrityError:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x UNIQUE)")
    db.execute("INSERT INTO t VALUES (1)")
    try:
        db.execute("INSERT INTO t VALUES (1)")
    except sqlite3.IntegrityError as exc:
        return exc
    finally:
        db.close()


def chained(first: BaseException, then: BaseException) -> BaseException:
    """``then``, raised while handling ``first``."""
    try:
        try:
            raise first
        except BaseException:
            raise then  # noqa: B904  (chained on purpose: the outage is the context of what follows)
    except BaseException as exc:
        return exc


class TestWhatIsAnOutage:
    @pytest.mark.parametrize(
        "make",
        [
            lost,
            lambda: OperationalError("SELECT 1", {}, psycopg.OperationalError("connection failed: Connection refused")),
            lambda: OperationalError(
                "SELECT 1", {}, psycopg.errors.CannotConnectNow("the database system is starting up")
            ),
            lambda: OperationalError("SELECT 1", {}, psycopg.errors.DiskFull("could not extend file")),
            lambda: OperationalError("SELECT 1", {}, psycopg.errors.TooManyConnections("too many clients")),
            lambda: OperationalError("SELECT 1", {}, sqlite_locked()),
            lambda: psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
            lambda: chained(lost(), PendingRollbackError("Can't reconnect until invalid transaction is rolled back")),
        ],
        ids=[
            "terminated",
            "refused",
            "starting-up",
            "disk-full",
            "too-many-clients",
            "sqlite-locked",
            "raw-psycopg",
            "raised-while-handling-one",
        ],
    )
    def test_the_database_away(self, make):
        assert is_outage(make())

    @pytest.mark.parametrize(
        "make",
        [
            lambda: IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")),
            lambda: OperationalError("SELECT", {}, psycopg.errors.QueryCanceled("canceling statement due to timeout")),
            lambda: OperationalError("SELECT", {}, sqlite3.OperationalError("no such column: x")),
            lambda: DataError(
                "INSERT", {}, psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
            ),
            lambda: IntegrityError("INSERT", {}, sqlite_unique()),
            lambda: RuntimeError("bug in a plugin"),
            lambda: RecursionError("maximum recursion depth exceeded"),
            lambda: chained(RuntimeError("bug"), ValueError("and another")),
        ],
        ids=["unique", "statement-timeout", "sqlite-syntax", "nul", "sqlite-unique", "bug", "recursion", "bugs"],
    )
    def test_the_works_own_errors(self, make):
        assert not is_outage(make())

    def test_waits_double_up_to_a_cap_with_jitter_and_start_again_after_recovery(self, caplog):
        outage = Outage("worker", logging.getLogger("test"), jitter=lambda: 1.0)
        with caplog.at_level(logging.WARNING):
            assert [outage.failed(lost()) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
            outage.recovered()
            outage.recovered()  # already up: nothing to say
            assert outage.failed(lost()) == 0.5
        lines = [record.getMessage() for record in caplog.records]
        assert len(lines) == 3 and "database unavailable" in lines[0] and "database back" in lines[1]
        assert "AdminShutdown: terminating connection" in lines[0]
        assert Outage("x", logging.getLogger("test"), jitter=lambda: 0.0).failed(lost()) == 0.25  # half at least


@pytest.fixture
def shop(app, session, program, registry, clock, add_rule):
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
    add_storefront(session, program, registry, type="shopify", secret=SECRETS["shopify"], clock=clock)
    session.commit()
    app.config["WEBHOOK_PROCESSING"] = "queued"
    return program


def send_orders(app, count: int, *, first: int = 0) -> int:
    """``count`` paid orders from 40 customers (new ones enrolled on the way), a new customer every tenth;
    the points they earn."""
    client, points = app.test_client(), 0
    for n in range(first, first + count):
        amount = n % 97 + 1
        topic, body = shopify_delivery(("paid", n, n % 40, amount, "USD"), n)
        points += amount
        if n % 10 == 9:
            topic, body = shopify_delivery(("customer", 1000 + n), n)
            points -= amount
        answer = client.post("/webhooks/acme/shopify", data=body, headers=shopify_headers(body, topic))
        assert answer.status_code == 202, answer.get_json()
    return points


def statuses(session) -> dict:
    session.rollback()
    return dict(session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all())


def assert_processed_exactly_once(session, deliveries: int, points: int) -> None:
    session.rollback()
    rows = session.execute(select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_error)).all()
    assert len(rows) == deliveries
    assert {(status, attempts, error) for status, attempts, error in rows} == {("processed", 1, None)}
    assert session.scalar(select(func.coalesce(func.sum(Entry.amount), 0)).where(Entry.kind == "earn")) == points


class TestTheInboxLeavesDeliveriesAloneInAnOutage:
    def test_a_batch_that_meets_an_outage_raises_and_marks_nothing(
        self, app, shop, session, registry, clock, monkeypatch
    ):
        send_orders(app, 12)

        def down(*args, **kwargs):
            raise lost()

        monkeypatch.setattr(inbox, "process", down)
        monkeypatch.setattr(inbox, "process_together", down)
        with pytest.raises(OperationalError):
            inbox.process_batch(session, registry=registry, clock=clock)
        session.rollback()
        rows = session.execute(select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.last_error))
        assert set(rows) == {("received", 0, None)}  # not deferred as internal_error, not tried one by one
        monkeypatch.undo()
        assert len(inbox.process_batch(session, registry=registry, clock=clock)) == 12  # back: all of them

    def test_a_locked_sqlite_database_is_an_outage_too(self, app, shop, session, registry, clock, monkeypatch):
        send_orders(app, 3)

        def locked(*args, **kwargs):
            raise OperationalError("UPDATE accounts", {}, sqlite_locked())

        monkeypatch.setattr(inbox, "process", locked)
        monkeypatch.setattr(inbox, "process_together", locked)
        with pytest.raises(OperationalError):
            inbox.process_batch(session, registry=registry, clock=clock)
        with pytest.raises(OperationalError):
            inbox.retry_due(session, registry=registry, clock=clock)  # one by one: the same
        session.rollback()
        assert statuses(session) == {"received": 3}

    def test_a_bug_still_falls_back_to_one_by_one(self, app, shop, session, registry, clock, monkeypatch):
        send_orders(app, 2)
        monkeypatch.setattr(inbox, "process_together", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")))
        done = inbox.process_batch(session, registry=registry, clock=clock)
        assert [d.status for d in done] == ["processed", "processed"]  # one by one does not use the fast path


class TestTheWorkerLoop:
    class Waits(threading.Event):
        """A stop event whose waits are recorded, not slept."""

        def __init__(self):
            super().__init__()
            self.waits = []

        def wait(self, timeout=None):
            self.waits.append(timeout)
            return self.is_set()

    def test_it_backs_off_while_the_database_is_away_and_carries_on(
        self, app, shop, session, registry, monkeypatch, caplog
    ):
        from loyalty.db import db

        points = send_orders(app, 30)
        real, calls = inbox.process_batch, []

        def flaky(*args, **kwargs):
            calls.append(1)
            if len(calls) <= 4:
                raise lost()
            return real(*args, **kwargs)

        monkeypatch.setattr(inbox, "process_batch", flaky)
        stop = self.Waits()
        with caplog.at_level(logging.INFO, logger="loyalty.worker"):
            total = worker.run(
                db.session,
                registry=registry,
                max_attempts=8,
                batch=10,
                once=True,
                stop=stop,
                outage=Outage("worker", worker.log, jitter=lambda: 1.0),
            )
        assert total == 30 and stop.waits == [0.5, 1, 2, 4]  # then three full batches and one empty: no wait
        assert len(caplog.records) == 2  # one line when it went away, one when it came back
        assert_processed_exactly_once(session, 30, points)

    def test_a_bug_stops_it(self, app, shop, session, registry, monkeypatch):
        from loyalty.db import db

        monkeypatch.setattr(inbox, "process_batch", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")))
        with pytest.raises(RuntimeError):
            worker.run(db.session, registry=registry, max_attempts=8, once=True, stop=self.Waits())

    def test_the_command_survives_an_outage(self, app, shop, session, runner, monkeypatch):
        send_orders(app, 2)
        real, calls = inbox.process_batch, []

        def once_down(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise lost()
            return real(*args, **kwargs)

        monkeypatch.setattr(inbox, "process_batch", once_down)
        result = runner.invoke(args=["worker", "--once"])
        assert result.exit_code == 0, result.output
        assert "Processed 2 deliveries." in result.output
        assert statuses(session) == {"processed": 2}


class TestTheScheduler:
    def test_a_tick_without_database_is_logged_not_raised(self, app, program, clock, monkeypatch, caplog):
        from loyalty.cli.jobs import run_scheduled

        real, outage = jobs.run_job, Outage("scheduler", logging.getLogger("loyalty.scheduler"))
        monkeypatch.setattr("loyalty.cli.jobs.run_job", lambda *a, **k: (_ for _ in ()).throw(lost()))
        with caplog.at_level(logging.INFO, logger="loyalty.scheduler"):
            assert run_scheduled(app, "release", outage) is None
            assert run_scheduled(app, "expire", outage) is None
            monkeypatch.setattr("loyalty.cli.jobs.run_job", real)
            assert run_scheduled(app, "release", outage).status == "succeeded"
        messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(messages) == 2 and "unavailable" in messages[0] and "back" in messages[1]

    def test_a_bug_in_a_tick_is_still_raised(self, app, program, monkeypatch):
        from loyalty.cli.jobs import run_scheduled

        monkeypatch.setattr("loyalty.cli.jobs.run_job", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("bug")))
        with pytest.raises(RuntimeError):  # APScheduler logs it with its traceback, as any job's exception
            run_scheduled(app, "release", Outage("scheduler", logging.getLogger("test")))

    def test_program_sync_without_database_keeps_the_timetable(self, app, program, monkeypatch):
        from apscheduler.schedulers.background import BackgroundScheduler

        from loyalty.cli.jobs import sync_programs
        from loyalty.db import db
        from loyalty.registry import current_registry
        from loyalty.tiers.levels import set_scheme

        set_scheme(db.session, program, current_registry(), "points_earned", {})
        db.session.commit()
        timetable, outage = BackgroundScheduler(timezone="UTC"), Outage("scheduler", logging.getLogger("test"))
        sync_programs(app, timetable, outage)
        assert [job.id for job in timetable.get_jobs()] == ["tiers:acme"]
        monkeypatch.setattr(db.session, "execute", lambda *a, **k: (_ for _ in ()).throw(lost()))
        sync_programs(app, timetable, outage)  # does not raise, forgets nothing
        assert [job.id for job in timetable.get_jobs()] == ["tiers:acme"] and outage.down

    def test_a_run_whose_end_was_never_recorded_is_marked_abandoned(self, session, program, clock, registry):
        dead = JobRun(job="release", trigger="schedule", status="running", started_at=clock.now())
        other = JobRun(job="expire", trigger="schedule", status="running", started_at=clock.now())
        session.add_all([dead, other])
        session.commit()
        clock.advance(timedelta(minutes=15))
        assert jobs.run_job(session, "release", clock=clock, registry=registry).status == "succeeded"
        session.expire_all()
        assert (dead.status, dead.finished_at) == ("abandoned", clock.now())
        assert "never recorded" in dead.error
        assert other.status == "running"  # another job's: its own next run decides

    def test_a_sqlite_lease_this_process_failed_to_release_does_not_block_the_job(
        self, session, program, clock, is_postgres, registry
    ):
        if is_postgres:
            pytest.skip("the lease is SQLite's lock")
        import os
        import socket

        from loyalty.models import JobLock

        # What is left when releasing the lease met "database is locked": this process's, hours to go.
        session.add(
            JobLock(
                job="release",
                holder=f"{socket.gethostname()}:{os.getpid()}:123",
                expires_at=clock.now() + timedelta(hours=5),
            )
        )
        session.commit()
        assert jobs.run_job(session, "release", clock=clock, registry=registry).status == "succeeded"
        session.add(JobLock(job="expire", holder="elsewhere:1:2", expires_at=clock.now() + timedelta(hours=5)))
        session.commit()
        assert (
            jobs.run_job(session, "expire", clock=clock, registry=registry).status == "skipped"
        )  # another process's: respected


# --- on PostgreSQL: real connections taken away -------------------------------------------------


def url_for(database_url: str, name: str, relay=None) -> str:
    url = make_url(database_url).update_query_dict({"application_name": name})
    if relay is not None:
        url = url.set(host="127.0.0.1", port=relay.port)
    return url.render_as_string(hide_password=False)


def backends(admin, name: str) -> list[tuple[int, str]]:
    return admin.execute(
        text("SELECT pid, state FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()"),
        {"name": name},
    ).all()


def terminate(admin, pids) -> int:
    return sum(bool(admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})) for pid in pids)


def wait_for(condition, what: str, *, seconds: float = 60.0, process=None, log=None):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) while waiting for {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {seconds} s" + (f":\n{log.read_text()}" if log else ""))
        time.sleep(0.01)
    return result


#: The intake worker's own outage lines: the worker process also runs the outbox's sender thread, which
#: has events to send once orders are posted and reports its outages as ``sender: …`` lines of its own.
WORKER_DOWN, WORKER_BACK = "worker: database unavailable", "worker: database back"


@pytest.mark.postgres_only
class TestOnPostgres:
    BATCH = 25

    @pytest.fixture(autouse=True)
    def postgres_only(self, is_postgres):
        if not is_postgres:
            pytest.skip("pg_terminate_backend and a relay in front of the server: PostgreSQL")

    @pytest.fixture
    def name(self):
        return f"loyalty-outage-test-{uuid.uuid4().hex[:8]}"

    @pytest.fixture
    def relay(self, database_url):
        from tests.helpers.db_proxy import Relay

        url = make_url(database_url)
        relay = Relay(url.host or "127.0.0.1", url.port or 5432).start()
        yield relay
        relay.stop()

    @pytest.fixture
    def start_worker(self, tmp_path):
        started = []

        def start(url: str):
            log = tmp_path / f"worker-{len(started)}.log"
            env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test", "LOYALTY_INSTANCE_PATH": str(tmp_path)}
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from loyalty.console import main; main()",
                    "worker",
                    "--batch",
                    str(self.BATCH),
                    "--idle",
                    "0.05",
                ],
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            started.append(process)
            return process, log

        yield start
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()

    @staticmethod
    def stop(process, log) -> str:
        """SIGTERM: the worker ends its wait (a backoff's too) and exits cleanly."""
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
        return log.read_text()

    def test_terminated_mid_batch_again_and_again_it_carries_on(self, app, shop, session, admin, name, start_worker):
        deliveries, wanted = 600, 10
        points = send_orders(app, deliveries)
        began = time.monotonic()
        process, log = start_worker(url_for(app.config["SQLALCHEMY_DATABASE_URI"], name))
        terminations, progress = 0, -1
        while (done := statuses(session).get("processed", 0)) < deliveries:
            assert process.poll() is None, log.read_text()
            busy = [pid for pid, state in backends(admin, name) if state in ("active", "idle in transaction")]
            if busy and terminations < wanted and done > progress:  # it got on since the last one: again
                terminations += terminate(admin, busy) > 0
                progress = done
            assert time.monotonic() - began < 300, f"stuck at {done}:\n{log.read_text()}"
            time.sleep(0.005)
        took = time.monotonic() - began
        output = self.stop(process, log)
        assert terminations == wanted, f"only {terminations} terminations landed mid-batch; a larger backlog?"
        assert_processed_exactly_once(session, deliveries, points)
        outages, recoveries = output.count(WORKER_DOWN), output.count(WORKER_BACK)
        assert 1 <= outages == recoveries <= terminations and "Traceback" not in output, output
        print(f"\n{deliveries} deliveries, {terminations} terminations mid-batch, {outages} outages seen, {took:.1f} s")

    def test_an_idle_worker_outlives_an_outage_and_processes_what_comes_after(
        self, app, shop, session, admin, name, relay, start_worker
    ):
        process, log = start_worker(url_for(app.config["SQLALCHEMY_DATABASE_URI"], name, relay))
        wait_for(lambda: backends(admin, name), "worker connection", process=process, log=log)
        terminate(admin, [pid for pid, _ in backends(admin, name)])  # while it waits: the pool's ping copes
        relay.stop()  # the server goes away: connections cut, new ones refused
        wait_for(lambda: "database unavailable" in log.read_text(), "outage line", process=process, log=log)
        time.sleep(1.5)  # a few tries with the server away
        relay.start()
        points = send_orders(app, 40)
        wait_for(lambda: statuses(session) == {"processed": 40}, "the deliveries processed", process=process, log=log)
        output = self.stop(process, log)
        # One outage (two if the termination above caught it in its poll's query): a line each way.
        assert 1 <= output.count(WORKER_DOWN) == output.count(WORKER_BACK) <= 2, output
        assert "Traceback" not in output, output
        assert_processed_exactly_once(session, 40, points)

    def test_an_outage_under_load(self, app, shop, session, admin, name, relay, start_worker):
        deliveries = 200
        points = send_orders(app, deliveries)
        process, log = start_worker(url_for(app.config["SQLALCHEMY_DATABASE_URI"], name, relay))
        wait_for(lambda: statuses(session).get("processed", 0) >= 50, "first batches", process=process, log=log)
        relay.stop()
        time.sleep(2)  # down for a few seconds
        assert process.poll() is None, log.read_text()
        relay.start()
        wait_for(
            lambda: statuses(session).get("processed", 0) == deliveries,
            "the backlog processed",
            process=process,
            log=log,
        )
        output = self.stop(process, log)
        assert output.count(WORKER_DOWN) == 1 and output.count(WORKER_BACK) == 1, output
        assert_processed_exactly_once(session, deliveries, points)

    def test_a_scheduled_run_that_loses_the_database_does_not_raise_nor_stay_running(
        self, app, program, admin, name, relay, clock, monkeypatch, caplog
    ):
        from loyalty.app import create_app
        from loyalty.cli.jobs import run_scheduled

        proxied = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url_for(app.config["SQLALCHEMY_DATABASE_URI"], name, relay),
                "TESTING": True,
                "CLOCK": clock,
                "SECRET_KEY": "test",
            }
        )
        real = jobs.JOBS["release"]

        def cut(session, *args):
            session.execute(text("SELECT 1"))
            relay.stop()  # mid-run: the job, its record and its lock all lose the server
            return real[0](session, *args)

        outage = Outage("scheduler", logging.getLogger("loyalty.scheduler"))
        monkeypatch.setitem(jobs.JOBS, "release", (cut, real[1]))
        with caplog.at_level(logging.INFO):
            assert run_scheduled(proxied, "release", outage) is None  # logged, not raised
            assert run_scheduled(proxied, "release", outage) is None  # the next tick: still down, still fine
            relay.start()
            wait_for(lambda: not backends(admin, name), "the cut backends gone")
            monkeypatch.setitem(jobs.JOBS, "release", real)
            assert run_scheduled(proxied, "release", outage).status == "succeeded"
        with proxied.app_context():
            from loyalty.db import db

            runs = db.session.execute(select(JobRun.status, JobRun.error).order_by(JobRun.id)).all()
            db.session.remove()
            db.engine.dispose()
        assert [status for status, _ in runs] == ["abandoned", "succeeded"], runs
        lines = [r.getMessage() for r in caplog.records if r.name == "loyalty.scheduler" and r.levelno >= 30]
        assert len(lines) == 2 and "unavailable" in lines[0] and "back" in lines[1], lines

    def test_a_run_that_loses_its_lock_cannot_go_on(self, app, session, program, admin, clock, monkeypatch):
        from loyalty.db import db

        went_on = []

        def job(work, *args):
            work.execute(text("SELECT 1"))
            holder = admin.scalar(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            terminate(admin, [holder])  # the lock is gone: another scheduler could take the job now
            work.execute(text("SELECT 1"))  # so the run must not get past this
            went_on.append(True)
            return {}

        monkeypatch.setitem(jobs.JOBS, "release", (job, "* * * * *"))
        run = jobs.run_job(db.session, "release", clock=clock, registry=app.extensions["loyalty.registry"])
        assert run.status == "failed" and not went_on, run.error
        monkeypatch.undo()
        assert (
            jobs.run_job(db.session, "release", clock=clock, registry=app.extensions["loyalty.registry"]).status
            == "succeeded"
        )
