"""The application factory, the composition root. Nothing happens at import
time; each subsystem has one ``init_app(app)``, called here, and brings its
own routes, commands and jobs with it (the core imports none of admin,
webhooks or the entry points: only this module knows them all)."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_migrate import Migrate

import loyalty.migrations
import loyalty.models  # noqa: F401  (registers every table on the metadata)
from loyalty import admin, api, cli, registry, webhooks
from loyalty import config as config_module
from loyalty.api import member as member_api
from loyalty.clock import SystemClock
from loyalty.db import configure_engine, db
from loyalty.web import headers, health, unsubscribe

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
    return str(Path(loyalty.migrations.__file__).resolve().parent)


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests pass their own)."""
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
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    if config:
        app.config.update(config)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    Migrate(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)

    registry.init_app(app)
    health.init_app(app)
    headers.init_app(app)
    webhooks.init_app(app)
    unsubscribe.init_app(app)
    api.init_app(app)
    member_api.init_app(app)
    admin.init_app(app)  # after the others: it exempts their blueprints from CSRF (machines have no session)
    cli.init_app(app)
    return app
