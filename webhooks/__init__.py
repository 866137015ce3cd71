"""Storefront webhook intake, installed as ``loyalty.webhooks``: verify, store, dedupe, process.

``POST /webhooks/<program>/<storefront>`` (see :mod:`loyalty.webhooks.intake`);
the inbox (:mod:`loyalty.webhooks.inbox`) keeps every delivery, processes
it, defers what cannot be processed yet and replays on request.

The package brings everything of its own to the app in :func:`init_app`
(and its route in :func:`init_routes`): the intake's blueprint, the ``inbox_retry`` job (:mod:`loyalty.webhooks.scheduled`)
and the ``loyalty inbox …`` and ``loyalty worker`` commands
(:mod:`loyalty.webhooks.cli`). The core imports nothing from here.
"""

from __future__ import annotations

from loyalty import jobs
from loyalty.cli.lazy import registered_by
from loyalty.webhooks.scheduled import INBOX_RETRY

#: The package's commands (:mod:`loyalty.webhooks.cli`, imported when one runs) and the line ``--help`` lists.
COMMANDS = (
    ("inbox", "The webhook inbox: list, inspect, retry, replay deliveries."),
    (
        "worker",
        "Process stored webhook deliveries in batches (for WEBHOOK_PROCESSING=queued; run several), and send messages.",
    ),
)


def init_app(app) -> None:
    app.config.setdefault("WEBHOOK_MAX_BYTES", 1024 * 1024)
    app.config.setdefault("WEBHOOK_MAX_ATTEMPTS", 8)
    #: "inline": process each delivery in its request; "queued": answer once
    #: it is stored and leave it to ``loyalty worker`` (batches).
    app.config.setdefault("WEBHOOK_PROCESSING", "inline")
    jobs.register("inbox_retry", INBOX_RETRY, before="rollups")  # where it has always been listed
    for name, summary in COMMANDS:
        app.cli.add_command(registered_by("loyalty.webhooks.cli", name, summary))


def init_routes(app) -> None:
    """The intake's route: only the app that serves requests has it (commands start without it)."""
    from loyalty.webhooks.intake import bp

    app.register_blueprint(bp)
