"""``GET /healthz`` and the application factory."""

from __future__ import annotations

import os

from loyalty.app import create_app
from loyalty.db import db


def test_healthz_answers_ok(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_healthz_says_when_the_database_is_unreachable(tmp_path):
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db", "TESTING": True})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_the_suite_runs_on_the_backend_it_was_asked_for(app):
    """Guards .ci/run: a PostgreSQL run that silently fell back to SQLite would prove nothing."""
    asked = os.environ.get("TEST_DATABASE_URL", "")
    expected = "postgresql" if asked.startswith(("postgres://", "postgresql")) else "sqlite"
    assert db.engine.dialect.name == expected


def test_configuration_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOYALTY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/loyalty")
    monkeypatch.setenv("LOYALTY_WEBHOOK_MAX_BYTES", "2048")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/loyalty"
    assert app.config["WEBHOOK_MAX_BYTES"] == 2048
    key = app.config["SECRET_KEY"]
    assert len(key) > 40 and create_app().config["SECRET_KEY"] == key  # kept in the instance folder
