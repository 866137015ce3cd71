"""The ``loyalty`` console entry point (``[project.scripts]``).

A Flask CLI group, so Flask's own ``run`` and Flask-Migrate's ``db``
commands come with the platform's (:mod:`loyalty.cli`, attached by the
app factory). It lives apart from the commands because it builds the
app, and the app factory is what registers the commands: kept in one
module, the two imported each other.

Commands run on the app without its routes
(:func:`loyalty.app.create_command_app`): the admin, the APIs and Alembic
are most of what the platform imports, and ``loyalty members list`` needs
none of them. A command that serves or makes requests (Flask's ``run``,
``routes`` and ``shell``, and those marked with
:func:`loyalty.cli.lazy.serves_requests`: ``serve``, ``demo``) gets the
whole app before it runs, and so does every app it builds afterwards
(gunicorn's workers). ``tests/test_cli_start.py`` holds what ``--help``
must not import.
"""

from __future__ import annotations

import sys
from importlib import metadata

import click
from flask.cli import FlaskGroup, ScriptInfo

from loyalty.app import create_app, create_command_app, serve_requests
from loyalty.cli.lazy import LazyCommand, serves_requests
from loyalty.registry import PluginError

#: Flask's own commands that need the routes (the development server, the route list, an interactive shell).
FLASK_SERVING_COMMANDS = frozenset({"run", "routes", "shell"})


class AppFactory:
    """Builds the app for one invocation: without routes, until the command turns out to serve requests."""

    def __init__(self):
        self.serving = False
        self.built = None

    def __call__(self):
        try:
            app = create_app() if self.serving else create_command_app()
        except PluginError as exc:
            _plugin_failed(exc)
        self.built = self.built or app
        return app

    def serve_requests(self) -> None:
        """From now on build the whole app, and complete the one already built (no request has reached it)."""
        self.serving = True
        if self.built is not None:
            serve_requests(self.built)


def _plugin_failed(exc: PluginError):
    # A broken plugin is the plugin author's or the operator's to fix:
    # say which one and why, not a stack trace.
    click.echo(f"Error: {exc}", err=True)
    click.echo("Start without third-party plugins with LOYALTY_SAFE_MODE=1.", err=True)
    sys.exit(2)


def _serves_requests(command) -> bool:
    if getattr(command, "serves_requests", False):  # marked itself (an entry point's stand-in)
        return True
    return isinstance(command, LazyCommand) and getattr(command.command, "serves_requests", False)


class LoyaltyGroup(FlaskGroup):
    def make_context(self, info_name, args, parent=None, **extra):
        if "obj" not in extra:
            extra["obj"] = ScriptInfo(create_app=AppFactory(), set_debug_flag=False, load_dotenv_defaults=False)
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        # A command loads the plugins when it first needs one (loyalty.registry.init_app): a broken plugin
        # surfaces there, and gets the same message as at a server's start.
        try:
            return super().invoke(ctx)
        except PluginError as exc:
            _plugin_failed(exc)

    def resolve_command(self, ctx, args):
        # Only when a command is about to run: listing them for --help goes through get_command alone.
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and (name in FLASK_SERVING_COMMANDS or _serves_requests(command)):
            factory = ctx.ensure_object(ScriptInfo).create_app
            if isinstance(factory, AppFactory):
                factory.serve_requests()
        return name, command, rest

    def _load_plugin_commands(self) -> None:
        # Flask imports every ``flask.commands`` entry point for every command (Flask-Limiter's brings rich):
        # list them by name instead, each imported when it runs. An extension's commands expect the extension
        # set up (Flask-Limiter's, the admin's limiter): they get the whole app.
        if self._loaded_plugin_commands:
            return
        for ep in metadata.entry_points(group="flask.commands"):
            package = ep.dist.name if ep.dist else ep.module
            self.add_command(serves_requests(LazyCommand(ep.name, ep.load, f"Commands of {package}.")), ep.name)
        self._loaded_plugin_commands = True


main = LoyaltyGroup(
    name="loyalty",  # each invocation builds its app with an AppFactory of its own (make_context)
    load_dotenv=False,
    set_debug_flag=False,
    add_version_option=False,
    help="Loyalty and referral program platform.",
)
