"""pytest fixtures for plugin authors (and the platform's own tests).

Installed with the platform and loaded by pytest automatically (the
``pytest11`` entry point). Each test gets a fresh SQLite database built by
the migrations, a frozen clock and your plugins, and ends with
``loyalty verify``: a plugin that breaks a ledger invariant fails its
tests. Tell the fixtures about your plugin by overriding one fixture::

    @pytest.fixture
    def loyalty_plugins():
        return [my_plugin_module]

Fixtures: ``loyalty_plugins``, ``loyalty_clock``, ``loyalty_app``,
``loyalty_session``, ``loyalty_program``, ``loyalty_member``,
``loyalty_add_rule`` and ``loyalty_push``; helper: :func:`order_paid`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from loyalty.clock import FrozenClock
from loyalty.earning.events import Customer, Line, OrderPaid

START = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
_order_ids = itertools.count(1001)


def order_paid(
    total="50.00",
    *,
    customer: str | Customer | None = "c-1",
    currency: str = "USD",
    subtotal=None,
    discount="0",
    tax="0",
    shipping="0",
    lines=None,
    order_id: str | None = None,
    **extra,
) -> OrderPaid:
    """A paid order event with sensible defaults: ``order_paid("80.00", lines=[...])``.

    ``lines`` are dicts (``{"sku": "A", "total": "30.00"}``) or :class:`Line`;
    without lines the order has one line for the whole subtotal.
    """
    subtotal = Decimal(str(subtotal if subtotal is not None else total))
    if lines is None:
        lines = [{"id": "1", "title": "Item", "total": str(subtotal)}]
    built = tuple(
        line if isinstance(line, Line) else Line(
            id=str(line.get("id", index)), title=line.get("title", f"Line {index}"),
            quantity=int(line.get("quantity", 1)), total=Decimal(str(line["total"])),
            product_id=line.get("product_id"), sku=line.get("sku"), categories=tuple(line.get("categories", ())),
        )
        for index, line in enumerate(lines, start=1)
    )
    if isinstance(customer, str):
        customer = Customer(external_id=customer, email=f"{customer}@example.com")
    return OrderPaid(
        order_id=order_id or str(next(_order_ids)), customer=customer, currency=currency,
        subtotal=subtotal, total=Decimal(str(total)), discount=Decimal(str(discount)),
        tax=Decimal(str(tax)), shipping=Decimal(str(shipping)), lines=built, **extra,
    )


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

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/loyalty-test.db",
        "TESTING": True,
        "SECRET_KEY": "test",
        "CLOCK": loyalty_clock,
        "PLUGINS": list(loyalty_plugins),
    })
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
    from loyalty.db import db

    return db.session


@pytest.fixture
def loyalty_program(loyalty_session, loyalty_clock):
    """Program ``test`` in USD, points available at once (no return window)."""
    from loyalty.programs.program import create_program

    program = create_program(loyalty_session, slug="test", name="Test", currency="USD", clock=loyalty_clock)
    loyalty_session.commit()
    return program


@pytest.fixture
def loyalty_member(loyalty_session, loyalty_program, loyalty_clock):
    """Member ``c-1`` of the test program."""
    from loyalty.programs.members import enrol

    member, _ = enrol(loyalty_session, loyalty_program, external_id="c-1", email="c-1@example.com",
                      clock=loyalty_clock)
    loyalty_session.commit()
    return member


@pytest.fixture
def loyalty_add_rule(loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_add_rule("points_per_currency", {"points_per_unit": "1"})`` → the stored rule."""
    from loyalty.registry import current_registry
    from loyalty.earning.rules import add_rule

    def add(type: str, config: dict | None = None, *, name: str | None = None, program=None):
        rule = add_rule(loyalty_session, program or loyalty_program, current_registry(), type=type,
                        name=name or type, config=config, clock=loyalty_clock)
        loyalty_session.commit()
        return rule

    return add


@pytest.fixture
def loyalty_push(loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_push(event)`` processes one event in its own transaction and returns the outcome."""
    from loyalty.earning.pipeline import process
    from loyalty.registry import current_registry

    def push(event, *, program=None):
        outcome = process(loyalty_session, program or loyalty_program, event,
                          registry=current_registry(), clock=loyalty_clock)
        loyalty_session.commit()
        return outcome

    return push
