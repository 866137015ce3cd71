"""Test fixtures. The suite runs against SQLite by default and against
PostgreSQL when ``TEST_DATABASE_URL`` names one (``.ci/run`` does both).
A separate variable from ``DATABASE_URL`` on purpose: the suite empties the
database it is given, and must never be pointed at a real one by accident.

The schema is built once per run from the Alembic migrations (not from
``create_all``), so every test also exercises the migrations. After every
test the ledger invariants are checked with the same code as
``loyalty verify``: a test that leaves the ledger broken fails even if its
own assertions passed.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from loyalty.app import create_app
from loyalty.clock import FrozenClock
from loyalty.db import db
from loyalty.ledger import Ledger, verify
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.testing import StoreClient

START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def _database_url(tmp_dir: str) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp_dir}/test.db"
    from loyalty.config import normalize_url

    return normalize_url(url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _database_url(str(tmp_path_factory.mktemp("db")))


@pytest.fixture(scope="session")
def is_postgres(database_url):
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Start from an empty database and apply the migrations once."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _clean(is_postgres: bool) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if is_postgres:
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def app(_schema, clock, is_postgres, tmp_path, request):
    plugins = request.node.get_closest_marker("plugins")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "TESTING": True,
            "CLOCK": clock,
            "SECRET_KEY": "test",
            "PLUGINS": list(plugins.args) if plugins else [],
        }
    )
    app.test_client_class = StoreClient
    with app.app_context():
        _clean(is_postgres)
        yield app
        db.session.rollback()
        if "corrupts_ledger" not in request.keywords:
            violations = verify(db.session)
            db.session.rollback()
            assert not violations, "loyalty verify fails after this test:\n" + "\n".join(map(str, violations))
        _clean(is_postgres)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def ledger(session, clock):
    return Ledger(session, clock)


@pytest.fixture
def program(session, clock):
    program = create_program(session, slug="acme", name="Acme", currency="USD", clock=clock)
    session.commit()
    return program


@pytest.fixture
def member_factory(session, program, clock):
    def make(external_id: str = "c-1", target=None, **fields):
        member, _ = enrol(session, target or program, external_id=external_id, clock=clock, **fields)
        session.commit()
        return member

    return make


@pytest.fixture
def member(member_factory):
    return member_factory("c-1", email="ann@example.com")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "corrupts_ledger: the test breaks invariants on purpose; skip the after-test verify"
    )
    config.addinivalue_line(
        "markers", "plugins(*modules): the app loads these plugins too (its PLUGINS setting, as a third party's)"
    )


@pytest.fixture
def registry(app):
    from loyalty.registry import current_registry

    return current_registry()


@pytest.fixture
def add_rule(session, program, registry, clock):
    """``add_rule("points_per_currency", {"points_per_unit": "1"})``"""
    from loyalty.earning.rules import add_rule as add

    def make(type, config=None, *, name=None, target=None):
        rule = add(session, target or program, registry, type=type, name=name or type, config=config, clock=clock)
        session.commit()
        return rule

    return make


@pytest.fixture
def push(session, program, registry, clock):
    """Process one event in its own transaction: ``push(order_paid("50.00"))``."""
    from loyalty.earning.pipeline import process

    def run(event, *, target=None):
        outcome = process(session, target or program, event, registry=registry, clock=clock)
        session.commit()
        return outcome

    return run
