"""Test fixtures. The suite runs against SQLite by default and against
PostgreSQL when ``TEST_DATABASE_URL`` names one (``.ci/run`` does both).
A separate variable from ``DATABASE_URL`` on purpose: the suite empties the
database it is given, and must never be pointed at a real one by accident.

The schema is built once per run from the Alembic migrations (not from
``create_all``), so every test also exercises the migrations. After every
test the ledger invariants are checked with the same code as
``loyalty verify``: a test that leaves the ledger broken fails even if its
own assertions passed.

The fixtures are the kit's (:mod:`loyalty.testing`, which plugin authors
use too): this file overrides only what the platform's suite does
differently (``loyalty_app`` on one shared database, PostgreSQL too, and
the ``plugins`` marker; ``loyalty_program`` is ``acme``) and keeps the
short names the tests use (``app``, ``session``, ``clock``, ``program``,
``add_rule``, ...) as aliases of the kit's fixtures. Helpers the test
modules share are in :mod:`tests.helpers`.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from loyalty.app import create_app
from loyalty.db import db
from loyalty.invariants import verify
from loyalty.ledger import Ledger
from loyalty.programs.program import create_program
from loyalty.testing import StoreClient


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
def admin(database_url):
    """A connection of its own to the test database, in autocommit: for what a test does to the server
    (``pg_terminate_backend``, ``pg_stat_activity``), never through the app's pool."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture
def loyalty_plugins(request):
    """The plugins of the test's ``plugins`` marker: the app loads them as a third party's."""
    plugins = request.node.get_closest_marker("plugins")
    return list(plugins.args) if plugins else []


@pytest.fixture
def loyalty_app(_schema, loyalty_clock, loyalty_plugins, is_postgres, request):
    """The kit's app on the suite's one database (emptied before and after), verified unless ``corrupts_ledger``."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _schema,
            "TESTING": True,
            "CLOCK": loyalty_clock,
            "SECRET_KEY": "test",
            "PLUGINS": loyalty_plugins,
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
def loyalty_program(loyalty_session, loyalty_clock):
    """The suite's program: ``acme`` in USD."""
    program = create_program(loyalty_session, slug="acme", name="Acme", currency="USD", clock=loyalty_clock)
    loyalty_session.commit()
    return program


# The suite's short names for the kit's fixtures.


@pytest.fixture
def clock(loyalty_clock):
    return loyalty_clock


@pytest.fixture
def app(loyalty_app):
    return loyalty_app


@pytest.fixture
def session(loyalty_session):
    return loyalty_session


@pytest.fixture
def registry(loyalty_registry):
    return loyalty_registry


@pytest.fixture
def program(loyalty_program):
    return loyalty_program


@pytest.fixture
def ledger(session, clock):
    return Ledger(session, clock)


@pytest.fixture
def member_factory(loyalty_enrol):
    """``member_factory("c-2", other_program, email=...)``: the kit's ``loyalty_enrol``."""

    def make(external_id: str = "c-1", target=None, **fields):
        return loyalty_enrol(external_id, program=target, **fields)

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
def add_rule(loyalty_add_rule):
    """``add_rule("points_per_currency", {"points_per_unit": "1"})``: the kit's ``loyalty_add_rule``."""

    def make(type, config=None, *, name=None, target=None):
        return loyalty_add_rule(type, config, name=name, program=target)

    return make


@pytest.fixture
def push(loyalty_push):
    """Process one event in its own transaction: ``push(order_paid("50.00"))`` (the kit's ``loyalty_push``)."""

    def run(event, *, target=None):
        return loyalty_push(event, program=target)

    return run
