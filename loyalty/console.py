"""The ``loyalty`` console entry point (``[project.scripts]``).

A Flask CLI group, so Flask's own ``run`` and Flask-Migrate's ``db``
commands come with the platform's (:mod:`loyalty.cli`, attached by the
app factory). It lives apart from the commands because it builds the
app, and the app factory is what registers the commands: kept in one
module, the two imported each other.
"""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from loyalty.app import create_app
from loyalty.registry import PluginError


def _create_app():
    try:
        return create_app()
    except PluginError as exc:
        # A broken plugin is the plugin author's or the operator's to fix:
        # say which one and why, not a stack trace.
        click.echo(f"Error: {exc}", err=True)
        click.echo("Start without third-party plugins with LOYALTY_SAFE_MODE=1.", err=True)
        sys.exit(2)


main = FlaskGroup(
    name="loyalty",
    create_app=_create_app,
    load_dotenv=False,
    set_debug_flag=False,
    add_version_option=False,
    help="Loyalty and referral program platform.",
)
