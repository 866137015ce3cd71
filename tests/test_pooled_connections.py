"""Pooled connections: pinged only after they sat idle, replaced when the database dropped them.

``loyalty.db`` pings a connection taken from the pool only when it was
unused for longer than ``PING_AFTER_IDLE_SECONDS`` (SQLAlchemy's
``pool_pre_ping`` would ping every checkout: one more round trip per
webhook delivery and API call on PostgreSQL). These tests use an engine of
their own, configured like the app's, so the shared one is never broken.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from loyalty import db as db_module
from loyalty.db import configure_engine


@pytest.fixture
def engine(database_url, _schema):
    engine = create_engine(database_url)
    configure_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    """How many times the engine pinged a connection."""
    count = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        count.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return count


def use(engine) -> None:
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1


def test_a_connection_used_a_moment_ago_is_not_pinged(engine, pings):
    use(engine)  # connects: a new connection needs no ping
    use(engine)
    use(engine)
    assert pings == []


def test_a_connection_idle_for_longer_than_the_limit_is_pinged(engine, pings, monkeypatch):
    use(engine)
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    use(engine)
    assert len(pings) == 1


@pytest.mark.postgres_only
class TestDroppedByTheServer:
    @pytest.fixture(autouse=True)
    def postgres_only(self, is_postgres):
        if not is_postgres:
            pytest.skip("pg_terminate_backend: PostgreSQL")

    def backend(self, engine) -> int:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT pg_backend_pid()"))

    def terminate(self, admin, pid: int) -> None:
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        while admin.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
            pass

    def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error(self, engine, admin, monkeypatch):
        dropped = self.backend(engine)
        self.terminate(admin, dropped)
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had sat idle
        assert self.backend(engine) != dropped

    def test_one_used_a_moment_ago_fails_once_and_the_pool_then_connects_afresh(self, engine, admin):
        dropped = self.backend(engine)
        self.terminate(admin, dropped)
        with pytest.raises(OperationalError) as caught:
            self.backend(engine)  # not pinged: the statement meets the dropped connection
        assert caught.value.connection_invalidated
        assert self.backend(engine) != dropped
