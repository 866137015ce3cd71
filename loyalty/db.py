"""The database handle, and the connection settings both backends need.

SQLite is the embedded default, PostgreSQL the production database; the
code above this module is the same for both. Two SQLite settings matter
for the ledger's invariants:

* ``PRAGMA foreign_keys=ON``: SQLite ignores foreign keys unless asked,
  and the ledger relies on them (a transfer cannot name an account of
  another program).
* ``BEGIN IMMEDIATE``: SQLite allows one writer. A default (deferred)
  transaction that reads a balance and then writes can fail with
  "database is locked" when another writer got in between, with no
  retry possible. Taking the write lock when the transaction starts makes
  writers queue (up to ``busy_timeout``) instead, which is what the
  ledger's read-check-write sequences need.

WAL keeps readers from blocking on the writer; ``synchronous=FULL`` keeps
every commit durable, because an acknowledged webhook whose points are
lost in a power cut would never be re-sent by the store.

On both, a connection taken from the pool after more than
``PING_AFTER_IDLE_SECONDS`` unused is pinged first, and replaced if the
database dropped it (a restart, a failover, an idle timeout), so a
restarted database costs no failed request. SQLAlchemy's
``pool_pre_ping`` does the same for every checkout, which on PostgreSQL
is one more round trip for every webhook delivery and API call; a
connection used a moment ago is alive or, if the database has just gone,
its error invalidates the whole pool (SQLAlchemy's disconnect handling),
so the next checkouts connect afresh.
"""

from __future__ import annotations

import time

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

SQLITE_BUSY_TIMEOUT_MS = 30_000


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def configure_engine(engine: Engine) -> None:
    """Install the per-connection settings described in the module docstring."""
    _ping_idle_connections(engine)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.driver == "psycopg":
        engine.dialect.do_rollback = _rollback_keeping_prepared  # type: ignore[method-assign]


def _rollback_keeping_prepared(dbapi_connection) -> None:
    """Roll back without forgetting the connection's prepared statements (psycopg 3).

    psycopg prepares a statement on the server once a connection has run it
    five times, so that PostgreSQL parses and plans it once. But its
    ``rollback()`` also drops every prepared statement (``DEALLOCATE ALL``),
    in case the transaction changed the schema. Every request that only
    reads ends in a rollback (the session's close), so on a pooled
    connection no statement ever stayed prepared, and each paid its planning
    again: 0.4 to 1.7 ms a statement at a million members, up to half of a
    member read. The platform changes no schema outside its migrations
    (their own process and connection; PostgreSQL re-plans a prepared
    statement whose tables changed), so this sends the ``ROLLBACK`` itself
    and keeps them. A connection in any state other than an open
    transaction goes through psycopg's own ``rollback()``, so its errors
    (a dropped connection) reach SQLAlchemy as they always did.
    """
    from psycopg import pq

    connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    pgconn = connection.pgconn
    status = pgconn.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return
    if status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR) and connection._pipeline is None:
        if pgconn.exec_(b"ROLLBACK").status == pq.ExecStatus.COMMAND_OK:
            return
    connection.rollback()


def _ping_idle_connections(engine: Engine) -> None:
    if getattr(engine, "_loyalty_pings", False):
        return
    engine._loyalty_pings = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        checked_in = record.info.pop("checked_in", None)
        if checked_in is None or time.monotonic() - checked_in <= PING_AFTER_IDLE_SECONDS:
            return  # new (just connected), or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and hands out a new one (or raises why it cannot connect).
            raise DisconnectionError(f"a pooled connection was dropped: {exc}") from exc


def _configure_sqlite(engine: Engine) -> None:
    if getattr(engine, "_loyalty_configured", False):
        return
    engine._loyalty_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_many(conn, table, rows: list[dict]) -> list[int]:
    """Insert ``rows`` into ``table`` in one executemany; their new ids, in the order given.

    The ids are taken first, so the insert needs no RETURNING: with
    RETURNING, SQLAlchemy rewrites a batch into one long multi-row INSERT
    whose text psycopg must parse afresh every time (it caches only short
    statements), which cost more than the insert itself. PostgreSQL hands
    out the ids from the column's sequence; SQLite continues after the
    largest id, which is safe because every transaction there holds the
    write lock from its start (``BEGIN IMMEDIATE``, above).
    """
    if not rows:
        return []
    name = table.name
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, {len(rows):d})"
            ).scalars()
        )
    else:
        last = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar()
        ids = list(range(last + 1, last + 1 + len(rows)))
    conn.execute(table.insert(), [{**row, "id": id_} for row, id_ in zip(rows, ids)])
    return ids


def is_id(value) -> bool:
    """Whether ``value`` can be a row id (a positive 64-bit integer): larger numbers are no row, not an error."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
