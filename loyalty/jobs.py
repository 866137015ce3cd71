"""Scheduled jobs: what they do, the lock that keeps each to one runner, and their recorded runs.

``loyalty scheduler`` (APScheduler, :mod:`loyalty.cli.jobs`) calls
:func:`run_job` on a timetable; ``loyalty jobs run NAME`` calls it now.
Every run is recorded in ``job_runs`` (start, end, counts, error); a job
that fails is recorded as failed and the scheduler carries on.

Two schedulers started by mistake never run one job at once: a run first
takes the job's lock, a PostgreSQL advisory lock (``pg_try_advisory_lock``,
held on its own connection for the run) or, on SQLite, a lease row in
``job_locks`` that expires if its holder died. A run that cannot take the
lock is recorded as ``skipped``.

The jobs of the core are defined here; a package outside it that needs
one (the webhooks inbox's retries) registers it (:func:`register`), so the
core depends on no such package.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import partial
from typing import NamedTuple

from flask import current_app
from sqlalchemy import delete, extract, or_, select, text, update
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import JobLock, JobRun, Member, Program
from loyalty.outage import describe, is_outage
from loyalty.registry import Registry

# Each job imports the feature it runs when it runs: every command imports this module (the webhooks package
# registers its job here), and the features' modules were a fifth of what ``loyalty --help`` took.

log = logging.getLogger(__name__)

#: A SQLite lease outlives any sane run; a holder that died frees the job after it.
LEASE = timedelta(hours=6)


# --- the jobs ----------------------------------------------------------------


def _programs(session: Session, slug: str | None = None) -> list[Program]:
    query = select(Program).order_by(Program.id)
    return list(session.scalars(query.where(Program.slug == slug) if slug else query))


def tiers_job(session, clock, registry, program_slug=None) -> dict:
    """Recalculate tiers (upgrades, downgrades by policy, manual tiers that ended)."""
    from loyalty.tiers.recalculate import recalculate

    counts = {"programs": 0, "members": 0, "upgraded": 0, "downgraded": 0}
    for program in _programs(session, program_slug):
        if program.tier_scheme is None:
            continue
        result = recalculate(session, program, registry=registry, clock=clock)
        counts["programs"] += 1
        for name in ("members", "upgraded", "downgraded"):
            counts[name] += getattr(result, name)
    return counts


def _in_batches(session, sweep) -> int:
    """Run a ledger sweep batch after batch, committing each: a long backlog holds no lock for long."""
    done = 0
    while batch := sweep():
        done += len(batch)
        session.commit()
    return done


def release_job(session, clock, registry, program_slug=None) -> dict:
    """Move pending points whose return window has passed to available."""
    from loyalty.ledger import SWEEP_BATCH, Ledger

    ledger = Ledger(session, clock)
    return {
        "released": sum(
            _in_batches(session, partial(ledger.release_due, program.id, limit=SWEEP_BATCH))
            for program in _programs(session, program_slug)
        )
    }


def referrals_job(session, clock, registry, program_slug=None) -> dict:
    """Reward referrals whose review period has ended (both sides' points), a batch per commit."""
    from loyalty.referrals import reward_due

    rewarded = 0
    for program in _programs(session, program_slug):
        if program.referral_terms:
            rewarded += _in_batches(session, partial(reward_due, session, program, registry=registry, clock=clock))
    return {"rewarded": rewarded}


def expire_job(session, clock, registry, program_slug=None) -> dict:
    """Expire lots past their date, and the points of inactive members under an inactivity policy."""
    from loyalty.ledger import SWEEP_BATCH, Ledger

    ledger = Ledger(session, clock)
    counts = {"expired_lots": 0, "expired_inactive": 0}
    for program in _programs(session, program_slug):
        counts["expired_lots"] += _in_batches(session, partial(ledger.expire_due, program.id, limit=SWEEP_BATCH))
        if program.expiry_policy == "inactivity":
            days = program.expiry_after
            counts["expired_inactive"] += _in_batches(
                session, partial(ledger.expire_inactive, program.id, days, limit=SWEEP_BATCH)
            )
    return counts


def expiring_job(session, clock, registry, program_slug=None) -> dict:
    """Tell members about points expiring within their program's notice period (``points.expiring``, once a date)."""
    from loyalty.programs.expiring import notice_expiring

    now = clock.now()
    return {"member_days": sum(notice_expiring(session, program, now) for program in _programs(session, program_slug))}


def birthdays_job(session, clock, registry, program_slug=None) -> dict:
    """Today's birthdays (29 February on 28 February in other years) go through the birthday rules."""
    from loyalty.earning.events import Birthday, Customer
    from loyalty.earning.pipeline import process

    today = clock.now().date()
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        days.append((2, 29))
    counts = {"members": 0, "points": 0}
    for program in _programs(session, program_slug):
        born_today = or_(
            *(
                (extract("month", Member.birthday) == month) & (extract("day", Member.birthday) == day)
                for month, day in days
            )
        )
        for external_id in session.scalars(
            select(Member.external_id)
            .where(Member.program_id == program.id, Member.status == "active", born_today)
            .order_by(Member.id)
        ).all():
            outcome = process(
                session, program, Birthday(Customer(external_id), today.year), registry=registry, clock=clock
            )
            counts["members"] += 1
            counts["points"] += outcome.points
    return counts


def rollups_job(session, clock, registry, program_slug=None) -> dict:
    """Sum each program's days that ended into the daily roll-ups the dashboard reads (:mod:`loyalty.reporting.rollups`)."""
    from loyalty.reporting.rollups import roll_up

    now = clock.now()
    return {"days": sum(roll_up(session, program, now) for program in _programs(session, program_slug))}


def _leap(year: int) -> bool:
    try:
        date(year, 2, 29)
        return True
    except ValueError:
        return False


class Job(NamedTuple):
    """A scheduled job: ``function(session, clock, registry, program_slug)`` returns its counts; ``cron`` is its default timetable."""

    function: Callable[[Session, Clock, Registry, str | None], dict]
    cron: str


def messages_job(session, clock, registry, program_slug=None) -> dict:
    """Send the outbox's due messages, for when no ``loyalty worker`` runs (for at most 50 s: it runs every minute)."""
    from loyalty.messages import sending

    counts = sending.send_due(
        session, registry=registry, settings=current_app.config, clock=clock, budget=timedelta(seconds=50)
    )
    return {
        "events": counts["events"],
        **{status: counts[status] for status in ("delivered", "pending", "failed", "skipped")},
    }


def messages_prune_job(session, clock, registry, program_slug=None) -> dict:
    """Delete finished deliveries and their events after ``MESSAGES_RETENTION_DAYS`` (30): the outbox is a queue."""
    from loyalty.messages import retention

    days = int(current_app.config.get("MESSAGES_RETENTION_DAYS", retention.RETENTION_DAYS))
    return retention.prune(session, now=clock.now(), days=days)


#: name -> Job, in the order ``loyalty jobs list``, the scheduler and the admin show them.
#: ``tiers`` also runs per program on the program's own cron. A package that
#: brings a job of its own adds it with :func:`register` (the webhooks
#: package's ``inbox_retry``, from its ``init_app``): the core imports none of them.
JOBS: dict[str, Job] = {
    "tiers": Job(tiers_job, "0 3 * * *"),
    "release": Job(release_job, "*/15 * * * *"),
    "referrals": Job(referrals_job, "5,20,35,50 * * * *"),
    "expire": Job(expire_job, "30 2 * * *"),
    "expiring": Job(expiring_job, "45 2 * * *"),
    "birthdays": Job(birthdays_job, "0 6 * * *"),
    "rollups": Job(rollups_job, "10 * * * *"),
    "messages": Job(messages_job, "* * * * *"),
    "messages_prune": Job(messages_prune_job, "40 4 * * *"),
}


def register(name: str, job: Job, *, before: str | None = None) -> None:
    """Add a job to :data:`JOBS` (before the job ``before``, else last).

    Every app built registers its packages' jobs again (tests build many),
    so the same job registered twice changes nothing; a different job
    under a taken name is a mistake and raises ``ValueError``.
    """
    if name in JOBS:
        if JOBS[name] != job:
            raise ValueError(f"a job named {name!r} is registered already")
        return
    if before is None:
        JOBS[name] = job
        return
    if before not in JOBS:
        raise ValueError(f"no job {before!r} to register {name!r} before")
    ordered = list(JOBS.items())
    at = [existing for existing, _ in ordered].index(before)
    ordered.insert(at, (name, job))
    JOBS.clear()
    JOBS.update(ordered)


def check_cron(expression: str) -> str:
    """A crontab line APScheduler accepts (minute hour day month weekday), or InvalidInput."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise errors.InvalidInput(f"invalid cron {expression!r}: {exc}") from None
    return expression


# --- running -----------------------------------------------------------------


def run_job(
    session: Session, name: str, *, trigger: str = "manual", registry, clock: Clock, once_since: datetime | None = None
) -> JobRun:
    """Run a job now, under its lock, and record the run. Never raises for the job's own errors.

    ``name`` is a job of :data:`JOBS`, or ``tiers:<program>`` for one program's tiers.
    ``once_since``: skip if the job already started at or after this time
    (the scheduler passes its tick, so a second scheduler that gets the
    lock after the first one finished does not run the same tick again).

    A database outage is raised when the run cannot be recorded (the
    scheduler logs it and tries at the next tick); a run whose end could
    not be recorded stays ``running`` until the job's next run, which
    holds the lock and so knows it is over, marks it ``abandoned``.
    """
    base, _, program_slug = name.partition(":")
    if base not in JOBS or (program_slug and base != "tiers"):
        raise errors.InvalidInput(f"no job {name!r} (jobs: {', '.join(JOBS)}, or tiers:<program>)")
    function, _ = JOBS[base]
    with job_lock(session, name, clock) as (held, work):
        done_already = (
            held
            and once_since is not None
            and work.scalar(
                select(JobRun.id).where(JobRun.job == name, JobRun.status != "skipped", JobRun.started_at >= once_since)
            )
            is not None
        )
        if held:
            _abandon_unfinished(work, name, clock)
        run = JobRun(
            job=name,
            trigger=trigger,
            started_at=clock.now(),
            status="running" if held and not done_already else "skipped",
        )
        if run.status == "skipped":
            run.finished_at = run.started_at
            run.error = (
                "another scheduler ran this job for this time already"
                if done_already
                else "another scheduler is running this job"
            )
        work.add(run)
        work.flush()
        # Read now: reading an attribute after the commit would open a
        # transaction, which on SQLite holds the write lock for the whole run.
        run_id, skipped = run.id, run.status == "skipped"
        work.commit()
        if skipped:
            return run
        try:
            counts = function(work, clock, registry, program_slug or None)
            work.commit()
            status, error = "succeeded", None
        except Exception as exc:  # recorded, not raised: one failing job must not stop the scheduler
            work.rollback()
            if is_outage(exc):
                log.warning("job %s lost the database: %s", name, describe(exc))
            else:
                log.exception("job %s failed", name)
            counts, status, error = None, "failed", f"{type(exc).__name__}: {exc}"[:4000]
        run = work.get(JobRun, run_id)
        run.status, run.counts, run.error, run.finished_at = status, counts, error, clock.now()
        work.commit()
        return run


def _abandon_unfinished(session: Session, name: str, clock: Clock) -> None:
    """Close the job's runs left ``running``: whoever ran them lost the database or died before their end.

    Called under the job's lock, so none of them is still at work: on
    PostgreSQL a run works on its lock's connection (:func:`job_lock`),
    on SQLite a lease is free only once released or lapsed.
    """
    session.execute(
        update(JobRun)
        .where(JobRun.job == name, JobRun.status == "running")
        .values(
            status="abandoned",
            finished_at=clock.now(),
            error="its end was never recorded: the run lost the database, or its process died",
        )
    )


@contextmanager
def job_lock(session: Session, name: str, clock: Clock):
    """Hold the job's lock for the block: yields whether it was taken, and the session the run works in.

    PostgreSQL: an advisory lock on a connection of its own, and the run
    works on that connection (a session bound to it), so whatever ends
    the lock (the connection lost, the server restarted) ends the run's
    work with it: a second scheduler that takes the freed lock never runs
    the job beside a first one still at work; the caller's session is
    committed before and expired after. SQLite: a lease row, the caller's
    session.
    """
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"loyalty-job:{name}".encode())
        session.commit()  # as when the run worked in the caller's session: it sees what the caller did
        with engine.connect() as conn:
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            work = Session(bind=conn, expire_on_commit=False)
            try:
                yield taken, work
            finally:
                work.close()
                session.expire_all()  # and the caller sees what the run did
                if taken:
                    _unlock(conn, key)
        return
    holder = f"{_process()}:{id(session)}"[:100]
    taken = _take_lease(session, name, holder, clock.now())
    try:
        yield taken, session
    finally:
        if taken:
            with _leases_lock:
                _leases_held.discard(name)
            session.rollback()
            session.execute(delete(JobLock).where(JobLock.job == name, JobLock.holder == holder))
            session.commit()


def _unlock(conn, key: int) -> None:
    """Release the advisory lock, unless the connection (and the lock with it) is gone already."""
    if conn.invalidated:
        return
    try:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
    except Exception as exc:
        if not is_outage(exc):
            raise  # a lost connection took the lock with it


def _process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


#: SQLite: the jobs whose lease this process holds now (its threads run several jobs at once).
_leases_held: set[str] = set()
_leases_lock = threading.Lock()


def _take_lease(session: Session, name: str, holder: str, now: datetime) -> bool:
    """SQLite: the write lock (``BEGIN IMMEDIATE``) makes this check-and-take atomic.

    A lease this very process holds for a job none of its threads is
    running was left behind when releasing it failed (the database locked
    or away at that moment): it is taken over, not waited out for hours.
    """
    session.rollback()
    lease = session.get(JobLock, name)
    if lease is not None and lease.expires_at > now and not _left_behind(lease, name):
        session.rollback()
        return False
    if lease is None:
        session.add(JobLock(job=name, holder=holder, expires_at=now + LEASE))
    else:
        lease.holder, lease.expires_at = holder, now + LEASE
    with _leases_lock:  # before the commit: the next thread reads the lease only after it
        _leases_held.add(name)
    try:
        session.commit()
    except BaseException:
        with _leases_lock:
            _leases_held.discard(name)
        raise
    return True


def _left_behind(lease: JobLock, name: str) -> bool:
    with _leases_lock:
        return lease.holder.startswith(f"{_process()}:") and name not in _leases_held


def recent_runs(session: Session, *, job: str | None = None, limit: int = 30) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    return list(session.scalars(query.where(JobRun.job == job) if job else query))
