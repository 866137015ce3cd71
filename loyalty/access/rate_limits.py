"""Rate-limit counts in the platform's own database: ``RATELIMIT_STORAGE_URI = "database://"`` (the default).

Flask-Limiter keeps its counts in a ``limits`` storage. The in-memory one
is per process, so with gunicorn's workers each counted on its own (two
workers let twice the sign-in attempts through). Every worker and every
machine of the platform already shares the database, so the counts live
there, in ``rate_limits``: one row per key and fixed window.

Each hit is one statement (on PostgreSQL committed without waiting for the
WAL flush: see :data:`ASYNC_COMMIT`), an upsert that starts a new window when the
old one has ended and otherwise adds to it, and returns the new count
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and on
SQLite). The row is locked for the statement, so hits from several
workers at once are all counted, each exactly once. It runs on a connection of its own,
committed at once: a sign-in that fails rolls back its request's
transaction, never its count. Only the fixed-window strategy (Flask-Limiter's
default) is supported; a Redis URI (``redis://…``) still works instead.
"""

from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from loyalty.db import db
from loyalty.models import RateLimitCounter

counters = RateLimitCounter.__table__


#: A hit's commit does not wait for the WAL flush (PostgreSQL; a flush is milliseconds, the most of a widget
#: request's time): a crash may forget the last fraction of a second of counts, which lets a few more requests
#: through, and nothing else (the counts are no one's record; the ledger's commits stay durable).
ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"


def _now() -> float:
    return time.time()


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    @staticmethod
    def _engine():
        # The app's engine, looked up per call: the storage is made once, at init_app, for whichever app is current.
        return db.engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = _now()
        engine = self._engine()
        insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(counters)
        ended = counters.c.expires_at <= now
        upsert = (
            insert.values(key=key, count=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[counters.c.key],
                set_={
                    "count": _case(ended, insert.excluded.count, counters.c.count + insert.excluded.count),
                    "expires_at": _case(ended, insert.excluded.expires_at, counters.c.expires_at),
                },
            )
            .returning(counters.c.count)
        )
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(ASYNC_COMMIT)
            count = conn.execute(upsert).scalar_one()
        # Ended windows go, so the table keeps live ones only; in a transaction of its own, after the hit's: a
        # hit then locks one row only, and two workers' hits cannot wait for each other.
        with engine.begin() as conn:
            conn.execute(delete(counters).where(ended))
        return count

    def get(self, key: str) -> int:
        with self._engine().connect() as conn:
            count = conn.execute(
                select(counters.c.count).where(counters.c.key == key, counters.c.expires_at > _now())
            ).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        with self._engine().connect() as conn:
            expires = conn.execute(select(counters.c.expires_at).where(counters.c.key == key)).scalar()
        return expires if expires is not None and expires > _now() else _now()

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._engine().begin() as conn:
            return conn.execute(delete(counters)).rowcount

    def clear(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(delete(counters).where(counters.c.key == key))


def _case(condition, then, otherwise):
    from sqlalchemy import case

    return case((condition, then), else_=otherwise)
