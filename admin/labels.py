"""The words a program manager reads for the core's stored values: one place, for every admin page.

The database, the API and the CLI keep the identifiers (``cap_at_zero``,
``end_of_year``): scripts and other systems depend on them. The admin
shows these words instead, in selects, tables and the audit log. A
plugin's choices get their words from its schema's metadata instead
(:mod:`loyalty.admin.schema_forms`); what has no words here is spelled out
(``"some_value"`` reads "Some value"), never shown raw.
"""

from __future__ import annotations

from loyalty.admin.blueprint import bp
from loyalty.admin.schema_forms import spelled_out

LABELS: dict[str, dict[str, str]] = {
    "clawback_policy": {
        "allow_negative": "Take them back anyway (the balance may go below zero)",
        "cap_at_zero": "Take back only what is left (the balance stops at zero)",
    },
    "expiry_policy": {
        "none": "Never",
        "after_days": "A number of days after they are earned",
        "end_of_month": "At the end of a month after they are earned",
        "end_of_year": "At the end of a year after they are earned",
        "inactivity": "All at once, after a number of days without activity",
    },
    #: What the number beside the expiry policy counts.
    "expiry_after": {
        "after_days": "days",
        "end_of_month": "months later (0: the same month)",
        "end_of_year": "years later (0: the same year)",
        "inactivity": "days without earning or spending",
    },
    "role": {
        "owner": "Owner (everything, team and secrets too)",
        "manager": "Manager (runs the program)",
        "viewer": "Viewer (sees, changes nothing)",
    },
    "job": {
        "tiers": "Tier recalculation",
        "release": "Release pending points",
        "referrals": "Referral reviews",
        "expire": "Expire points",
        "expiring": "Expiry reminders",
        "birthdays": "Birthday bonuses",
        "rollups": "Dashboard figures",
        "messages": "Send e-mails and events",
        "messages_prune": "Prune sent messages",
    },
    "delivery_status": {
        "received": "Received, waiting",
        "processed": "Processed",
        "ignored": "Ignored (nothing to do)",
        "deferred": "Deferred (retried later)",
        "failed": "Failed",
        "pending": "Waiting to be sent",
        "sending": "Sending",
        "delivered": "Delivered",
        "skipped": "Skipped",
    },
}


def label(kind: str, value) -> str:
    """The words for ``value`` among ``kind``'s (:data:`LABELS`); spelled out if there are none.

    A job run for one program (``tiers:acme``) reads "Tier recalculation (acme)".
    """
    if value is None:
        return ""
    if kind == "job" and ":" in value:
        job, _, scope = value.partition(":")
        return f"{label(kind, job)} ({scope})"
    return LABELS.get(kind, {}).get(value) or spelled_out(value)


def cron_words(expression: str | None) -> str:
    """A cron timetable in words, in UTC (the scheduler's zone): ``0 3 * * *`` reads "At 03:00 UTC"."""
    if not expression:
        return ""
    from cron_descriptor import Options, get_description  # only where a timetable is shown

    options = Options()
    options.use_24hour_time_format = True
    try:
        return f"{get_description(expression, options)} UTC"
    except Exception:  # a timetable the library cannot read is still shown, as it is stored
        return expression


def options(kind: str, values) -> list[tuple[str, str]]:
    """``(value, words)`` for a select's options."""
    return [(value, label(kind, value)) for value in values]


def counts_words(counts: dict | None) -> str:
    """A job's counts as a line: ``{"released": 3, "lots": 2}`` reads "released 3, lots 2"."""
    return ", ".join(f"{spelled_out(name).lower()} {value}" for name, value in (counts or {}).items())


bp.add_app_template_global(label, "words_for")
bp.add_app_template_global(options, "options_for")
bp.add_app_template_filter(cron_words, "cron_words")
bp.add_app_template_filter(counts_words, "counts_words")
