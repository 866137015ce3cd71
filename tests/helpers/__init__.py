"""Helpers the test modules share; no test module imports from another.

* this module: :data:`START` (the frozen clock's start), :data:`ROOT` (the
  checkout), :func:`snapshot`, :func:`available`, :func:`pending`,
  :func:`run_together`, :func:`guide_example`, :func:`statements_issued`;
* :mod:`tests.helpers.cli`: ``ok`` and ``fails`` (run the ``loyalty`` command);
* :mod:`tests.helpers.admin`: a person in front of the admin (:class:`Browser`,
  ``signed_in``) and the admin tests' fixtures;
* :mod:`tests.helpers.webhooks`: signing and sending deliveries as each store
  does, with the official ``stripe`` and ``standardwebhooks`` libraries (they
  cross-check the kit's own signing in :mod:`loyalty.testing`), and the store
  fixtures' files;
* :mod:`tests.helpers.intake`: the webhook intake tests' fixtures;
* :mod:`tests.helpers.fake_stripe`, :mod:`tests.helpers.db_proxy`,
  :mod:`tests.helpers.live_server`, :mod:`tests.helpers.login_attempts`: a fake
  Stripe API, a TCP relay a test can cut, gunicorn on a port, a sign-in worker;
* :mod:`tests.helpers.chromium`: the app on a port and a headless Chromium tab
  at a chosen width that fails on any Content-Security-Policy message.

Fixtures live in ``tests/conftest.py`` (most of them the kit's,
:mod:`loyalty.testing`); the few a group of modules shares are in the
modules above, imported by name where they are used.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, func, select

from loyalty.ledger import Ledger
from loyalty.models import Account, Entry, Lot, LotConsumption, Transfer
from loyalty.programs.members import get_member
from loyalty.testing import START

#: The checkout: docs and examples are read from here.
ROOT = Path(__file__).resolve().parent.parent.parent

__all__ = ["ROOT", "START", "available", "guide_example", "pending", "run_together", "snapshot", "statements_issued"]


def snapshot(session) -> tuple:
    """Everything a ledger write could change, to prove that a refused request changed nothing."""
    counts = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Entry, Transfer, Lot, LotConsumption, Account)
    )
    balances = tuple(session.execute(select(Account.id, Account.balance).order_by(Account.id)).all())
    remaining = tuple(session.execute(select(Lot.id, Lot.remaining).order_by(Lot.id)).all())
    return counts, balances, remaining


def available(session, program, external_id) -> int:
    """The member's available balance, read from the ledger."""
    member = get_member(session, program, external_id)
    return Ledger(session).balances(member.id)["available"]


def pending(session, program, external_id) -> int:
    """The member's pending balance (points not yet released), read from the ledger."""
    member = get_member(session, program, external_id)
    return Ledger(session).balances(member.id)["pending"]


def run_together(app, count: int, work) -> list:
    """``work(n)`` in ``count`` threads released at once, each in its own app context; their results."""
    barrier = threading.Barrier(count)
    results, failures = [], []

    def run(n):
        try:
            with app.app_context():
                barrier.wait()
                results.append(work(n))
        except Exception as exc:  # reported below, with the test's failure
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def guide_example(hook: str) -> dict:
    """Run the Python example under ``### <hook>`` in docs/plugins.md, as written: its names."""
    guide = ROOT / "docs" / "plugins.md"
    section = guide.read_text().split(f"### {hook}")[1].split("### ")[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(guide), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


@contextmanager
def statements_issued(session):
    """The SQL statements the block sends (one per execute or executemany): ``with statements_issued(s) as sql:``."""
    issued: list[str] = []
    engine = session.get_bind()

    def listener(conn, cursor, statement, *args):
        issued.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield issued
    finally:
        event.remove(engine, "before_cursor_execute", listener)
