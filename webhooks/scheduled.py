"""The webhooks package's scheduled job: retry the inbox's deliveries that are due.

Registered on the core's timetable (:func:`loyalty.jobs.register`) by
:func:`loyalty.webhooks.init_app`, so ``loyalty jobs`` and the scheduler
run it like the core's own jobs while the core imports nothing of the
webhooks package.
"""

from __future__ import annotations

from flask import current_app

from loyalty.jobs import Job


def inbox_retry_job(session, clock, registry, program_slug=None) -> dict:
    """Webhook deliveries left received (a crash) or deferred whose retry time has come."""
    from loyalty.webhooks import inbox  # when it runs: every command registers this job

    done = inbox.retry_due(
        session, registry=registry, clock=clock, max_attempts=current_app.config["WEBHOOK_MAX_ATTEMPTS"]
    )
    return {"retried": len(done), "processed": sum(1 for d in done if d.status == "processed")}


#: Every minute: a deferred delivery waits no longer than its backoff asks.
INBOX_RETRY = Job(inbox_retry_job, "* * * * *")
