"""``loyalty serve``: the production server (gunicorn).

``loyalty run`` (Flask's development server) is for working on the code;
``serve`` runs several worker processes, which the design allows because
app servers keep no state of their own: everything is in the database.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, pass_script_info

from loyalty.cli.lazy import serves_requests


@serves_requests
@click.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address and port.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--timeout", default=30, show_default=True, help="Seconds before a stuck worker is restarted.")
@pass_script_info
def serve(script_info: ScriptInfo, bind, workers, timeout):
    """Serve the platform with gunicorn."""
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
