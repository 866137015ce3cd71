"""``loyalty scheduler`` and ``loyalty jobs …``: the scheduled jobs, on a timetable or now."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.jobs import JOBS, recent_runs, run_job
from loyalty.models import Program
from loyalty.outage import Outage, is_outage
from loyalty.registry import current_registry

log = logging.getLogger("loyalty.scheduler")

group = AppGroup("jobs", help="Scheduled jobs: their recent runs, or run one now.")

#: How often the scheduler looks for new programs or changed tier crons.
RESYNC_MINUTES = 5


@group.command("list")
@click.option("--job", default=None, help="Only this job.")
@click.option("--limit", default=30, show_default=True)
@transactional
def list_(job, limit):
    """Recent runs, newest first: job, status, start, duration, counts or error."""
    click.echo(
        "Jobs: "
        + ", ".join(f"{name} ({cron})" for name, (_, cron) in JOBS.items())
        + "; tiers:<program> on the program's own cron"
    )
    for run in recent_runs(db.session, job=job, limit=limit):
        took = f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else "running"
        detail = run.error if run.error else ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items())
        click.echo(
            f"{run.id:>6}  {run.job:16} {run.status:9} {run.started_at.isoformat(timespec='seconds')}"
            f"  {took:>8}  {run.trigger:8} {detail}"
        )


@group.command("run")
@click.argument("name")
@transactional
def run(name):
    """Run a job now (tiers, release, referrals, expire, birthdays, inbox_retry, rollups, or tiers:<program>)."""
    result = run_job(db.session, name, clock=current_clock(), registry=current_registry())
    detail = result.error or ", ".join(f"{k} {v}" for k, v in (result.counts or {}).items())
    click.echo(f"Job {result.job} {result.status}: {detail}")
    if result.status == "failed":
        raise SystemExit(1)


def run_scheduled(app, name: str, outage: Outage):
    """One tick of a job: its run, or ``None`` when the database was away (logged once per outage, not raised).

    A run that lost the database half-way may leave its ``job_runs`` row
    ``running``: the job's next run marks it ``abandoned``
    (:func:`loyalty.jobs.run_job`). Any other exception is a bug and is
    raised (APScheduler logs it with its traceback and goes on).
    """
    with app.app_context():
        # Cron ticks are whole minutes: another scheduler's run of this tick counts as done.
        tick = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        try:
            result = run_job(
                db.session,
                name,
                trigger="schedule",
                once_since=tick,
                clock=current_clock(),
                registry=current_registry(),
            )
        except Exception as exc:
            if not is_outage(exc):
                raise
            outage.failed(exc)
            log.debug("%s: tick %s skipped, the database is away", name, tick.isoformat(timespec="minutes"))
            return None
        outage.recovered()
        log.info("%s %s %s", result.job, result.status, result.error or result.counts)
        return result


def sync_programs(app, timetable, outage: Outage) -> None:
    """One tier job per program with a scheme, on its cron (programs come and change).

    Without a database the timetable stays as it was until the next sync.
    """
    from apscheduler.triggers.cron import CronTrigger

    with app.app_context():
        try:
            wanted = {
                f"tiers:{slug}": cron
                for slug, cron in db.session.execute(
                    db.select(Program.slug, Program.tier_cron).where(Program.tier_scheme.is_not(None))
                ).all()
            }
        except Exception as exc:
            if not is_outage(exc):
                raise
            outage.failed(exc)
            return
    outage.recovered()
    for job in timetable.get_jobs():
        if job.id.startswith("tiers:") and job.id not in wanted:
            job.remove()
    for job_id, cron in wanted.items():
        timetable.add_job(
            run_scheduled,
            CronTrigger.from_crontab(cron, timezone="UTC"),
            id=job_id,
            name=job_id,
            args=[app, job_id, outage],
            replace_existing=True,
        )


@click.command("scheduler")
@with_appcontext
def scheduler():
    """Run the scheduled jobs until stopped (one process; a second one skips what the first runs).

    While the database is away, ticks are skipped with one line logged (and one when it is back).
    """
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    current_registry()  # the plugins load now: a broken one stops the start, not every tick
    timetable = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    outage = Outage("scheduler", log, meanwhile="skipping ticks until it answers")
    for name, (_, cron) in JOBS.items():
        if name != "tiers":
            timetable.add_job(
                run_scheduled,
                CronTrigger.from_crontab(cron, timezone="UTC"),
                args=[app, name, outage],
                id=name,
                name=name,
            )
    sync_programs(app, timetable, outage)
    timetable.add_job(
        sync_programs, "interval", minutes=RESYNC_MINUTES, args=[app, timetable, outage], id="sync_programs"
    )
    click.echo(f"Scheduler running {len(timetable.get_jobs()) - 1} jobs (Ctrl-C stops it).")
    try:
        timetable.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def register(main) -> None:
    main.add_command(group)
    main.add_command(scheduler)
