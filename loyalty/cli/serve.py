"""``loyalty serve``: the production server (gunicorn), with one ``loyalty worker`` beside it by default.

``loyalty run`` (Flask's development server) is for working on the code;
``serve`` runs several worker processes, which the design allows because
app servers keep no state of their own: everything is in the database.

By default webhooks are queued (docs/architecture.md, "Inline or
queued"): ``serve`` runs gunicorn with ``WEBHOOK_PROCESSING = "queued"``
and supervises one ``loyalty worker`` (:mod:`loyalty.cli.supervisor`).
``--no-worker`` serves alone, processing as configured
(``LOYALTY_WEBHOOK_PROCESSING``, whose default is ``"inline"``): for
machines whose workers run apart. An explicit
``LOYALTY_WEBHOOK_PROCESSING='"inline"'`` is respected: no worker.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import click
from flask.cli import ScriptInfo, pass_script_info

from loyalty.cli.lazy import serves_requests

log = logging.getLogger("loyalty.serve")

PROCESSING_VARIABLE = "LOYALTY_WEBHOOK_PROCESSING"


def configured_processing() -> str | None:
    """The processing mode the environment asks for, or ``None`` if it says nothing (read as the app reads it: JSON)."""
    raw = os.environ.get(PROCESSING_VARIABLE)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@serves_requests
@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--timeout", default=30, show_default=True, help="Seconds before a stuck worker is restarted.")
@click.option(
    "--worker/--no-worker",
    "with_worker",
    default=True,
    show_default=True,
    help="Also run one `loyalty worker` (restarted if it exits) and queue webhooks for it; "
    "--no-worker: serve alone, processing webhooks as LOYALTY_WEBHOOK_PROCESSING says (default inline).",
)
@pass_script_info
def serve(script_info: ScriptInfo, bind, workers, timeout, with_worker):
    """Serve the platform with gunicorn, and a worker that processes the webhooks it queues."""
    _log_to_stderr()
    if with_worker and configured_processing() == "inline":
        log.info(
            '%s is "inline": webhooks are processed in their requests, and no worker is started', PROCESSING_VARIABLE
        )
        with_worker = False
    if not with_worker:
        _gunicorn(script_info, bind, workers, timeout)
        return
    from loyalty.cli.supervisor import LOYALTY, Supervisor

    options = ["--bind", bind, "--workers", str(workers), "--timeout", str(timeout)]
    supervisor = Supervisor(
        [*LOYALTY, "serve", "--no-worker", *options],
        [*LOYALTY, "worker"],
        {**os.environ, PROCESSING_VARIABLE: json.dumps("queued")},
    )
    sys.exit(supervisor.run())


def _log_to_stderr() -> None:
    """This command's own lines (and the supervisor's) on stderr beside gunicorn's; other loggers stay as they are."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _gunicorn(script_info: ScriptInfo, bind, workers, timeout) -> None:
    from gunicorn.app.base import BaseApplication

    # Each worker builds its own app with the factory the ``loyalty``
    # command was given (:mod:`loyalty.console`): importing the factory
    # here would make the commands import the app that registers them.
    create_app = script_info.create_app

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", timeout)
            self.cfg.set("accesslog", "-")

        def load(self):
            return create_app()

    Server().run()


def register(main) -> None:
    main.add_command(serve)
