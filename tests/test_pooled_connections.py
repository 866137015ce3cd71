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


@pytest.mark.postgres_only
class TestPreparedStatementsOutliveRollbacks:
    """psycopg's ``rollback()`` drops every prepared statement; the app's engine rolls back without it (loyalty.db)."""

    STATEMENT = "SELECT count(*) FROM programs WHERE id = %(id)s"

    @pytest.fixture(autouse=True)
    def postgres_only(self, is_postgres):
        if not is_postgres:
            pytest.skip("psycopg's prepared statements: PostgreSQL")

    def prepared(self, conn) -> list[str]:
        return list(conn.scalars(text("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")))

    def read_and_roll_back(self, engine, times: int) -> None:
        for n in range(times):
            with engine.connect() as conn:  # one pooled connection; each use ends in a rollback, as a read's does
                conn.exec_driver_sql(self.STATEMENT, {"id": n})
                conn.rollback()

    def test_a_statement_run_often_stays_prepared_across_rollbacks(self, engine):
        self.read_and_roll_back(engine, 8)
        with engine.connect() as conn:
            assert any("FROM programs WHERE id = $1" in statement for statement in self.prepared(conn))

    def test_psycopgs_own_rollback_would_have_dropped_it(self, engine):
        """What the engine avoids (if psycopg stops doing this, the override in loyalty.db can go)."""
        self.read_and_roll_back(engine, 8)
        with engine.connect() as conn:
            conn.exec_driver_sql(self.STATEMENT, {"id": 0})
            conn.connection.driver_connection.rollback()  # in a transaction: psycopg's DEALLOCATE ALL
            assert self.prepared(conn) == []

    def test_a_failed_transaction_rolls_back_and_the_connection_goes_on(self, engine):
        self.read_and_roll_back(engine, 8)
        with engine.connect() as conn:
            with pytest.raises(Exception, match="division by zero"):
                conn.exec_driver_sql("SELECT 1 / 0")
            conn.rollback()
            assert conn.scalar(text("SELECT 1")) == 1
            assert self.prepared(conn)

    def test_a_connection_dropped_in_a_transaction_is_replaced(self, engine, admin):
        with engine.connect() as conn:
            dropped = conn.scalar(text("SELECT pg_backend_pid()"))
            assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
            while admin.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": dropped}):
                pass
            with pytest.raises(OperationalError) as caught:
                conn.rollback()  # the ROLLBACK fails on the dead connection: psycopg's own rollback then says why
            assert caught.value.connection_invalidated
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != dropped
