"""The ``loyalty`` command.

A Flask CLI group, so every command runs inside the app (configuration,
database) and Flask's own ``run`` and Flask-Migrate's ``db`` commands come
with it. The commands are attached to ``app.cli`` by :func:`init_app`, the
Flask way, so ``app.test_cli_runner()`` sees exactly what users see.
Commands are thin: they parse, call a service, print.
"""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup


def init_app(app) -> None:
    from loyalty.cli import (
        admins,
        api_keys,
        demo,
        events,
        jobs,
        members,
        plugins,
        points,
        programs,
        referrals,
        rewards,
        rules,
        serve,
        storefronts,
        tiers,
        verify,
    )

    for module in (programs, members, points, rules, tiers, referrals, rewards, events, storefronts, api_keys,
                   jobs, plugins, verify, admins, demo, serve):
        module.register(app.cli)


def _create_app():
    from loyalty.app import create_app
    from loyalty.registry import PluginError

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
