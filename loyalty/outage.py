"""Riding out a database outage in the long-running processes (``loyalty worker``, ``loyalty scheduler``).

A database that restarts, fails over or drops its connections is not a
bad delivery nor a failed job: the work must stay as it was (a delivery
``received``, a batch whole) and be tried again once the database
answers. :func:`is_outage` tells such errors from the ones the work
itself causes; :class:`Outage` keeps a process's log to one line when the
database goes away and one when it is back, and spaces the tries out
(exponential, capped, with jitter, so several workers do not knock in
step).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time

from sqlalchemy.exc import DBAPIError

#: PostgreSQL SQLSTATE classes that say "the server or the link", not "this statement":
#: 08 connection exception, 53 insufficient resources (disk full, out of memory,
#: too many connections), 58 system error (I/O).
PG_OUTAGE_CLASSES = frozenset({"08", "53", "58"})
#: 57P01 admin_shutdown (``pg_terminate_backend``, a fast shutdown), 57P02 crash_shutdown,
#: 57P03 cannot_connect_now (starting up, shutting down, in recovery). Not 57014
#: query_canceled: a statement timeout could be the work's own doing.
PG_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03"})
#: SQLite primary result codes of a database that is busy or unwell, not of a statement:
#: BUSY and LOCKED (another writer held the lock past ``busy_timeout``), NOMEM, IOERR,
#: FULL, CANTOPEN, PROTOCOL.
SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)

#: The worker's and the scheduler's waits between tries: 0.5 s doubling to 30 s.
FIRST_WAIT = 0.5
LONGEST_WAIT = 30.0


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be used right now, whatever the work was.

    SQLAlchemy's own verdict first (``connection_invalidated``: the
    connection was lost under the statement), then the driver's error: a
    psycopg error without an SQLSTATE happened on the client side (the
    connection could not be made or broke), one with an SQLSTATE is an
    outage for the classes above; a SQLite error by its result code. A
    constraint violation, a bad value, a bug: not an outage. An error
    raised while handling an outage (a savepoint's rollback on the dead
    connection) is one too: the chain of causes is searched.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _is_outage(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in SQLITE_OUTAGE_CODES
    module = type(exc).__module__ or ""
    if module == "psycopg" or module.startswith("psycopg."):
        import psycopg

        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate is None:
            return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
        return sqlstate[:2] in PG_OUTAGE_CLASSES or sqlstate in PG_OUTAGE_STATES
    return False


def describe(exc: BaseException) -> str:
    """The driver's first line (SQLAlchemy's text adds the statement and a link)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"[:300]


class Outage:
    """One process's view of its database: up, or down since a failed try.

    ``failed(exc)`` after a try that met an outage: logs one warning when
    the outage starts (later tries log nothing) and returns how long to
    wait before the next try. ``recovered()`` after a try that worked:
    logs one line if the database had been away, and starts the waits
    from the shortest again.
    """

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        meanwhile: str | None = None,
        first: float = FIRST_WAIT,
        longest: float = LONGEST_WAIT,
        jitter=random.random,
        now=time.monotonic,
    ):
        self.what, self.log = what, log
        self.meanwhile = meanwhile or f"retrying with backoff, {first:g} s doubling to {longest:g} s"
        self.first, self.longest, self.jitter, self.now = first, longest, jitter, now
        self.tries = 0
        self.since: float | None = None
        self._lock = threading.Lock()  # the scheduler's jobs fail and recover in several threads

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        with self._lock:
            if self.since is None:
                self.since = self.now()
                self.log.warning("%s: database unavailable (%s); %s", self.what, describe(exc), self.meanwhile)
            self.tries += 1
            wait = min(self.first * 2 ** (self.tries - 1), self.longest)
        return wait / 2 + self.jitter() * wait / 2  # "equal jitter": between half and all of it

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            self.log.warning(
                "%s: database back after %.1f s (%d failed tries)", self.what, self.now() - self.since, self.tries
            )
            self.since, self.tries = None, 0
