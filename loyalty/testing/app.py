"""The kit's base: an app on a fresh database, its clock, session, registry, a program and members.

Every other fixture of :mod:`loyalty.testing` builds on these. Override
``loyalty_plugins`` to load your plugin; the platform's own tests override
``loyalty_app`` (a shared database, PostgreSQL too) and ``loyalty_program``.

The kit's modules import the platform inside the fixtures, not at the top:
pytest loads the kit (an entry-point plugin) at start in every project
that has the platform installed, before coverage measurement starts and
before a project's conftest has configured anything, and importing the
whole app then would do both too early.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flask.testing import FlaskClient

from loyalty.clock import FrozenClock

#: When the kit's clock stands at the start of every test.
START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class StoreClient(FlaskClient):
    """Flask's test client, for a caller that is another process (a store, a headless shop).

    Such a caller only sees what is committed, and the webhook intake
    checks and stores a delivery on its own connection: so the test's
    session commits before each request, as the test's setup would be
    committed before a real store could post.
    """

    def open(self, *args, **kwargs):
        from loyalty.db import db

        db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture
def loyalty_plugins():
    """Extra plugins to register (modules or objects). Override it to add yours."""
    return []


@pytest.fixture
def loyalty_clock():
    """A clock frozen at 2026-01-01 12:00 UTC; ``advance(timedelta)`` moves it."""
    return FrozenClock(START)


@pytest.fixture
def loyalty_app(tmp_path, loyalty_plugins, loyalty_clock):
    """An app on a fresh SQLite database, inside an app context; verifies the ledger after the test."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.invariants import verify

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/loyalty-test.db",
            "TESTING": True,
            "SECRET_KEY": "test",
            "CLOCK": loyalty_clock,
            "PLUGINS": list(loyalty_plugins),
        }
    )
    app.test_client_class = StoreClient
    with app.app_context():
        upgrade()
        yield app
        db.session.rollback()
        violations = verify(db.session)
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
        assert not violations, "loyalty verify fails after this test:\n" + "\n".join(map(str, violations))


@pytest.fixture
def loyalty_session(loyalty_app):
    """The app's SQLAlchemy session (``db.session``): what the platform's functions take."""
    from loyalty.db import db

    return db.session


@pytest.fixture
def loyalty_registry(loyalty_app):
    """The app's plugin registry: the built-in plugins and yours (``registry.storefronts["shopify"]``, ...)."""
    from loyalty.registry import current_registry

    return current_registry()


@pytest.fixture
def loyalty_program(loyalty_session, loyalty_clock):
    """Program ``test`` in USD, points available at once (no return window)."""
    from loyalty.programs.program import create_program

    program = create_program(loyalty_session, slug="test", name="Test", currency="USD", clock=loyalty_clock)
    loyalty_session.commit()
    return program


@pytest.fixture
def loyalty_enrol(loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_enrol("c-2", email="b@example.com")`` enrols a member (of ``program=``, default the test program)."""
    from loyalty.programs.members import enrol

    def make(external_id: str = "c-1", *, program=None, **fields):
        member, _ = enrol(
            loyalty_session, program or loyalty_program, external_id=external_id, clock=loyalty_clock, **fields
        )
        loyalty_session.commit()
        return member

    return make


@pytest.fixture
def loyalty_member(loyalty_enrol):
    """Member ``c-1`` (``c-1@example.com``) of the test program."""
    return loyalty_enrol("c-1", email="c-1@example.com")


@pytest.fixture
def loyalty_balance(loyalty_session, loyalty_program):
    """``loyalty_balance("c-1")`` → the member's available points (``pending=True``: the pending ones)."""
    from loyalty.ledger import Ledger
    from loyalty.programs.members import get_member

    def balance(external_id: str, *, pending: bool = False, program=None) -> int:
        member = get_member(loyalty_session, program or loyalty_program, external_id)
        return Ledger(loyalty_session).balances(member.id)["pending" if pending else "available"]

    return balance
