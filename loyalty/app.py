"""The application factory, the composition root. Nothing happens at import
time; each subsystem has one ``init_app(app)``, called here, and brings its
own routes, commands and jobs with it (routes in a second step, which
commands that serve no request skip: :func:`create_command_app`) (the core imports none of admin,
webhooks or the entry points: only this module knows them all)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

import loyalty.models  # noqa: F401  (registers every table on the metadata)
from loyalty import cli, registry, webhooks
from loyalty import config as config_module
from loyalty.cli.lazy import LazyCommand
from loyalty.clock import SystemClock
from loyalty.db import configure_engine, db

#: Paths machines call: stores' webhooks, and the API with its bearer keys.
MACHINE_PATHS = ("/webhooks/", "/api/")


class PeopleOnlyCookieSessions(SecureCookieSessionInterface):
    """Cookie sessions for the people who sign in, none for machines.

    A store posting a webhook never sends a session cookie, yet Flask would
    build the cookie signer for every request anyway: a tenth of what the
    webhook intake costs. Its requests get Flask's null session instead.
    """

    def open_session(self, app, request):
        if request.path.startswith(MACHINE_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _migrations_dir() -> str:
    # Installed (wheel or editable) the migrations are the ``loyalty.migrations``
    # package: ask it rather than guess a path relative to this file.
    import loyalty.migrations

    return str(Path(loyalty.migrations.__file__).resolve().parent)


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests pass their own).

    The whole app: what :func:`create_command_app` builds, Flask-Migrate,
    and every route (:func:`serve_requests`). Servers, tests and embedded
    use build this one.
    """
    app = create_command_app(config)
    add_migrations(app)
    serve_requests(app)
    return app


def create_command_app(config: dict | None = None) -> Flask:
    """The app as a command needs it: configuration, database, plugins, every command and job; no routes.

    The admin, the two APIs (flask-smorest, apispec, marshmallow) and
    Alembic are most of what the platform imports, and a command such as
    ``loyalty members list`` uses none of them: built without them, the
    ``loyalty`` command starts in about a third of the time. ``loyalty db``
    brings Flask-Migrate when it runs, and a command that serves requests
    gets the routes before it runs (:mod:`loyalty.console`).
    """
    app = Flask(
        "loyalty",
        instance_path=os.environ.get("LOYALTY_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(config_module.from_environment(app.instance_path))
    app.config.from_prefixed_env("LOYALTY")
    app.session_interface = PeopleOnlyCookieSessions()
    app.config.setdefault("CLOCK", SystemClock())
    if config:
        app.config.update(config)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    registry.init_app(app, lazy=True)  # loaded by serve_requests, or when a command first needs a plugin
    webhooks.init_app(app)
    cli.init_app(app)
    app.cli.add_command(
        LazyCommand("db", lambda: add_migrations(app), "Perform database migrations (Flask-Migrate, Alembic).")
    )
    return app


def add_migrations(app: Flask):
    """Flask-Migrate and its ``db`` command (once); returns the command."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    return app.cli.commands["db"]


def serve_requests(app: Flask) -> Flask:
    """Attach every route and what requests go through (once): health, headers, webhooks, the APIs, the admin."""
    if "loyalty.routes" in app.extensions:
        return app
    from loyalty import admin, api
    from loyalty.api import member as member_api
    from loyalty.web import headers, health, home, unsubscribe

    registry.init_app(app)  # a server loads its plugins before it answers: a broken one stops the start
    health.init_app(app)
    home.init_app(app)
    headers.init_app(app)
    webhooks.init_routes(app)
    unsubscribe.init_app(app)
    api.init_app(app)
    member_api.init_app(app)
    admin.init_app(app)  # after the others: it exempts their blueprints from CSRF (machines have no session)
    app.extensions["loyalty.routes"] = True
    return app
