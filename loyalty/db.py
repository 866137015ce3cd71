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
"""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
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


def configure_engine(engine: Engine) -> None:
    """Install the per-connection settings described in the module docstring."""
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


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
    """Insert ``rows`` into ``table`` in one statement; their new ids, in the order given.

    The ids are taken first, so the insert needs no RETURNING: with
    RETURNING, SQLAlchemy rewrites a batch into one long multi-row INSERT
    whose text psycopg must parse afresh every time (it caches only short
    statements), which cost more than the insert itself. The rows go in
    with :func:`insert_rows` (on PostgreSQL one ``unnest`` of arrays). PostgreSQL hands
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
    insert_rows(conn, table, [{**row, "id": id_} for row, id_ in zip(rows, ids)])
    return ids


def insert_rows(conn, table, rows: list[dict]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table``: many rows at the cost of a few.

    On PostgreSQL one ``INSERT ... SELECT FROM unnest(...)`` with one array
    per column: a statement whose text never changes, so nothing is parsed
    afresh, and one round trip instead of one protocol message per row (an
    executemany of 100,000 tier changes spent most of its time in the
    driver). On SQLite, in process, an executemany is already that.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    names, selected, params = _unnest(conn, table, rows)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(selected)} FROM {params.pop('from')}", params
    )


def update_rows(conn, table, key: str, rows: list[dict]) -> None:
    """Update a row of ``table`` per item of ``rows`` (column names to values), found by its column ``key``.

    Many rows at the cost of a few: on PostgreSQL one ``UPDATE ... FROM
    unnest(...)``, as :func:`insert_rows` does for inserts; on SQLite an
    executemany.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        from sqlalchemy import bindparam, update

        names = [name for name in rows[0] if name != key]
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"b_{key}"))
            .values({name: bindparam(f"b_{name}") for name in names})
        )
        conn.execute(statement, [{f"b_{name}": value for name, value in row.items()} for row in rows])
        return
    names, selected, params = _unnest(conn, table, rows)
    sets = ", ".join(f"{name} = {value}" for name, value in zip(names, selected) if name != key)
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {sets} FROM {params.pop('from')} WHERE {table.name}.{key} = v.{key}", params
    )


def _unnest(conn, table, rows: list[dict]) -> tuple[list[str], list[str], dict]:
    """The columns, what to select for each, and the parameters (with ``from``: the unnest clause) of ``rows``.

    Each column's values are bound as its type would bind them
    (``UTCDateTime``'s check, JSON serialised: ``None`` is JSON ``null``
    unless the column says ``none_as_null``, as SQLAlchemy stores it).
    """
    import json

    from sqlalchemy import JSON

    dialect = conn.dialect
    names = list(rows[0])
    arrays, selected, params = [], [], {}
    for n, name in enumerate(names):
        column = table.c[name]
        sql_type = column.type.compile(dialect=dialect)
        values = [row[name] for row in rows]
        if isinstance(column.type, JSON):
            keep_none = column.type.none_as_null
            values = [None if value is None and keep_none else json.dumps(value) for value in values]
            arrays.append(f"CAST(%(a{n})s AS text[])")
            selected.append(f"CAST(v.{name} AS {sql_type})")
        else:
            process = column.type.bind_processor(dialect)
            if process is not None:
                values = [process(value) for value in values]
            arrays.append(f"CAST(%(a{n})s AS {sql_type}[])")
            selected.append(f"v.{name}")
        params[f"a{n}"] = values
    params["from"] = f"unnest({', '.join(arrays)}) AS v({', '.join(names)})"
    return names, selected, params


def is_id(value) -> bool:
    """Whether ``value`` can be a row id (a positive 64-bit integer): larger numbers are no row, not an error."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
