"""Scheduled jobs: recorded runs, a failing job recorded (not raised), one runner at a time, the jobs' work."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from loyalty import jobs
from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.models import JobRun
from loyalty.programs.members import enrol
from loyalty.tiers.levels import add_tier, set_scheme
from tests.helpers import available, pending
from tests.helpers.cli import ok


def test_a_run_is_recorded_with_its_counts(session, program, member, clock, registry):
    Ledger(session, clock).earn(member, 40, key="e1", pending=True, release_at=clock.now() + timedelta(days=1))
    session.commit()
    clock.advance(timedelta(days=2))
    run = jobs.run_job(session, "release", clock=clock, registry=registry)
    assert run.status == "succeeded" and run.counts == {"released": 1} and run.finished_at is not None
    assert available(session, program, "c-1") == 40 and pending(session, program, "c-1") == 0
    assert jobs.run_job(session, "release", clock=clock, registry=registry).counts == {"released": 0}


def test_a_failing_job_is_recorded_and_does_not_raise(session, program, clock, monkeypatch, registry):
    def broken(*args):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setitem(jobs.JOBS, "expire", (broken, "* * * * *"))
    run = jobs.run_job(session, "expire", clock=clock, registry=registry)
    assert run.status == "failed" and "the disk is on fire" in run.error
    assert (
        jobs.run_job(session, "release", clock=clock, registry=registry).status == "succeeded"
    )  # the next job still runs


def test_two_schedulers_never_run_one_job_at_once(app, session, program, clock, monkeypatch):
    started = threading.Barrier(2)

    def slow(*args):
        time.sleep(1.5)  # long enough that the other scheduler surely tries while this one runs
        return {"slept": 1}

    monkeypatch.setitem(jobs.JOBS, "birthdays", (slow, "* * * * *"))
    results = []

    def scheduler():
        with app.app_context():
            started.wait()
            results.append(
                jobs.run_job(
                    db.session,
                    "birthdays",
                    trigger="schedule",
                    clock=clock,
                    registry=app.extensions["loyalty.registry"],
                ).status
            )
            db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["skipped", "succeeded"]
    assert (
        jobs.run_job(session, "birthdays", clock=clock, registry=app.extensions["loyalty.registry"]).status
        == "succeeded"
    )  # the lock was released


def test_a_dead_holders_lease_expires(session, clock, is_postgres, registry):
    if is_postgres:
        return  # PostgreSQL's advisory lock dies with its connection
    from loyalty.models import JobLock

    session.add(JobLock(job="release", holder="crashed", expires_at=clock.now() + timedelta(minutes=5)))
    session.commit()
    assert jobs.run_job(session, "release", clock=clock, registry=registry).status == "skipped"
    clock.advance(timedelta(minutes=6))
    assert jobs.run_job(session, "release", clock=clock, registry=registry).status == "succeeded"


def test_birthdays_once_a_year_and_29_february(session, program, clock, add_rule, registry):
    add_rule("birthday_bonus", {"points": 30}, name="Birthday")
    today = clock.now().date()
    enrol(session, program, external_id="today", birthday=today.replace(year=1990), clock=clock)
    enrol(
        session, program, external_id="tomorrow", birthday=(today + timedelta(days=1)).replace(year=1990), clock=clock
    )
    enrol(session, program, external_id="leap", birthday=date(1992, 2, 29), clock=clock)
    session.commit()
    assert jobs.run_job(session, "birthdays", clock=clock, registry=registry).counts["members"] == 1
    jobs.run_job(session, "birthdays", clock=clock, registry=registry)  # again the same day: nothing new
    assert available(session, program, "today") == 30 and available(session, program, "tomorrow") == 0
    clock.set(datetime(2027, 2, 28, 9, tzinfo=timezone.utc))  # not a leap year
    jobs.run_job(session, "birthdays", clock=clock, registry=registry)
    assert available(session, program, "leap") == 30


def test_tiers_job_per_program_and_cli(runner, session, program, member, registry, clock):
    add_tier(session, program, name="Gold", rank=1, threshold="100", clock=clock)
    set_scheme(session, program, registry, "points_earned", {})
    Ledger(session, clock).earn(member, 150, key="e1")
    session.commit()
    assert "Job tiers:acme succeeded: programs 1, members 1, upgraded 1, downgraded 0" in ok(
        runner, "jobs", "run", "tiers:acme"
    )
    listed = ok(runner, "jobs", "list")
    assert "tiers:acme" in listed and "succeeded" in listed
    assert session.scalar(select(JobRun.status).where(JobRun.job == "tiers:acme")) == "succeeded"
    result = runner.invoke(args=["jobs", "run", "release:acme"])
    assert result.exit_code != 0 and "invalid_input" in result.output


def test_a_second_scheduler_does_not_rerun_a_tick(session, program, clock, registry):
    tick = clock.now()
    assert (
        jobs.run_job(session, "release", trigger="schedule", clock=clock, once_since=tick, registry=registry).status
        == "succeeded"
    )
    again = jobs.run_job(session, "release", trigger="schedule", clock=clock, once_since=tick, registry=registry)
    assert again.status == "skipped" and "already" in again.error
    clock.advance(timedelta(minutes=15))
    assert (
        jobs.run_job(
            session, "release", trigger="schedule", clock=clock, once_since=clock.now(), registry=registry
        ).status
        == "succeeded"
    )
