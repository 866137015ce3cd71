"""Scheduled job runs, and the lease that keeps two schedulers from running one job at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime


class JobRun(db.Model):
    """One run of a scheduled job: when, what it did (counts), and its error if it failed."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job", "job", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    #: running, succeeded, failed, skipped (another scheduler held the job),
    #: abandoned (its end was never recorded: found running by the next run; see loyalty.jobs.run_job)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, manual
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class JobLock(db.Model):
    """A lease on a job: taken by one process until ``expires_at``.

    What keeps two schedulers from running the same job at once on SQLite,
    which has no advisory locks (PostgreSQL uses ``pg_try_advisory_lock``).
    """

    __tablename__ = "job_locks"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
