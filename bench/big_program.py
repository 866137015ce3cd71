"""A program as a real store's looks, at a million members, built with set-based SQL for the benchmarks that read it.

Every member has their two accounts, a referral code, one of three tiers,
and ``transfers // members`` ledger entries (one transfer each) spread over
the last 330 days, in the shape the ledger writes them: earnings into the
available account with a lot dated for the program's expiry (365 days),
the latest earning of one member in five still pending (a lot with a
``release_at``), a refund taking back half of the first earning of one
member in ten (a ``reverse`` entry consuming that lot), and one member in
seven spending their second earning's points (a ``redeem`` entry consuming
that lot whole). Balances are then set from the transfers, so ``loyalty
verify`` passes (redeem entries have no ``redemptions`` row: they are
ledger spending, which verify allows).

Each table is filled by one ``INSERT … SELECT`` over a sequence of numbers
(``generate_series`` on PostgreSQL, a recursive CTE on SQLite), never row
by row through Python; the few timestamps come from a small table of
slots written by SQLAlchemy, so both backends store them as they would.
The program is made first through the platform's own functions: a base
rate, a points-earned tier scheme, referral terms with a link, expiry
after a year, the widget, an API key.

Usage (a library for other benches; as a script, it builds and prints the counts)::

    .venv/bin/python bench/big_program.py --database-url postgresql+psycopg://…/db [--members 1000000] [--transfers 10000000]

The database given is emptied (its public schema dropped) unless it already
holds a program of these sizes built by this module (``ensure``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, text  # noqa: E402

SLUG = "big"
DAYS = 330  # the history's length: entries spread over the last 330 days
TIER_NAMES = ("Bronze", "Silver", "Gold")


@dataclass(frozen=True)
class Built:
    slug: str
    members: int
    per_member: int
    api_key: str | None  # the secret, when this run made it
    widget_secret: str


def amount_sql(k: str) -> str:
    """Member ``n``'s ``k``-th amount: 1 to 200 points."""
    return f"((n * 7 + {k} * 13) % 200 + 1)"


def kind_sql(per: int) -> str:
    """What member ``n``'s ``k``-th entry is (see the module's docstring); all earnings below four entries a member."""
    if per < 4:
        return "'earn'"
    return (
        f"CASE WHEN k = {per - 2} AND n % 10 = 0 THEN 'reverse'"
        f" WHEN k = {per - 1} AND n % 7 = 0 THEN 'redeem'"
        f" WHEN k = {per - 1} AND n % 5 = 1 THEN 'pending'"
        " ELSE 'earn' END"
    )


def numbers(dialect: str, name: str, count: int) -> str:
    """A CTE ``name(i)`` of 1..count."""
    if dialect == "postgresql":
        return f"{name}(i) AS (SELECT generate_series(1, {count}))"
    return f"{name}(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM {name} WHERE i < {count})"


def build(engine, members: int, transfers: int, *, clock) -> None:
    """The ledger rows of a program made by :func:`make_program` (``SLUG``), in bulk."""
    per = max(1, transfers // members)
    dialect = engine.dialect.name
    now = clock.now()
    recursive = "RECURSIVE " if dialect == "sqlite" else ""
    with engine.begin() as conn:
        if dialect == "postgresql":
            # The rows are consistent by construction; verify checks it afterwards. Without the
            # foreign-key triggers the inserts take a third of the time.
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        program_id, issued, redeemed = conn.execute(
            text(
                "SELECT p.id, i.id, r.id FROM programs p JOIN accounts i ON i.program_id = p.id AND i.kind = 'issued'"
                " JOIN accounts r ON r.program_id = p.id AND r.kind = 'redeemed' WHERE p.slug = :slug"
            ),
            {"slug": SLUG},
        ).one()
        reward = conn.scalar(text("SELECT min(id) FROM rewards WHERE program_id = :p"), {"p": program_id})
        tiers = [
            row[0]
            for row in conn.execute(text("SELECT id FROM tiers WHERE program_id = :p ORDER BY rank"), {"p": program_id})
        ]
        a0 = conn.scalar(text("SELECT coalesce(max(id), 0) FROM accounts"))
        e0 = conn.scalar(text("SELECT coalesce(max(id), 0) FROM entries"))
        t0 = conn.scalar(text("SELECT coalesce(max(id), 0) FROM transfers"))
        l0 = conn.scalar(text("SELECT coalesce(max(id), 0) FROM lots"))
        m0 = conn.scalar(text("SELECT coalesce(max(id), 0) FROM members"))
        began = time.perf_counter()

        def step(label: str, sql: str, **params) -> None:
            start = time.perf_counter()
            typed = [
                bindparam(name, value, type_=_utc()) for name, value in params.items() if isinstance(value, datetime)
            ]
            conn.execute(text(sql).bindparams(*typed), {"program_id": program_id, **params})
            print(f"  {label}: {time.perf_counter() - start:.0f} s", file=sys.stderr)

        slots = Table(
            "bench_slots",
            MetaData(),
            Column("slot", Integer, primary_key=True),
            Column("created_at", _utc()),
            Column("expires_at", _utc()),
            prefixes=["TEMPORARY"],
        )
        slots.create(conn)
        # The history's hours, one slot each: a member's k-th entry falls in the k-th of ``per`` equal spans of
        # it, at the hour ``n % span`` of that span (so a span's entries spread over all its days).
        start, span = now - timedelta(days=DAYS), max(1, DAYS * 24 // per)
        rows = []
        for slot in range(per * span):
            created = start + timedelta(hours=slot, minutes=slot % 60)
            day = datetime(created.year, created.month, created.day, tzinfo=timezone.utc)
            rows.append({"slot": slot, "created_at": created, "expires_at": day + timedelta(days=366)})
        conn.execute(insert(slots), rows)
        member = f"({m0} + n)"
        step(
            "members",
            f"WITH {recursive}{numbers(dialect, 's', members)}, m(n) AS (SELECT i FROM s)"
            " INSERT INTO members (id, program_id, external_id, email, name, status, enrolled_at, referral_code, tier_id)"
            f" SELECT {member}, :program_id, 'cust-' || n, 'c' || n || '@example.com', 'Customer ' || n, 'active',"
            f" sl.created_at, 'R' || (1000000000 + n),"
            f" CASE n % 3 WHEN 0 THEN {tiers[0]} WHEN 1 THEN {tiers[1]} ELSE {tiers[2]} END"
            f" FROM m JOIN bench_slots sl ON sl.slot = n % {span}",
        )
        step(
            "accounts",
            f"WITH {recursive}{numbers(dialect, 's', members)}, m(n) AS (SELECT i FROM s)"
            " INSERT INTO accounts (id, program_id, member_id, kind, balance, created_at)"
            f" SELECT {a0} + 2 * n - 1 + x.pending, :program_id, {member},"
            " CASE x.pending WHEN 1 THEN 'pending' ELSE 'available' END, 0, :now"
            " FROM m CROSS JOIN (SELECT 0 AS pending UNION ALL SELECT 1) x",
            now=now,
        )
        kind = kind_sql(per)
        # Ids (and the rows' order on disk) follow time, as a live ledger's do: all members' first entries, then
        # their second ones... so one member's entries lie apart, not side by side.
        entry = f"({e0} + k * {members} + n)"
        first = f"({e0} + n)"
        # One row per entry: n, k, what it is, its amount.
        moves = (
            f"WITH {recursive}{numbers(dialect, 's', members)}, {numbers(dialect, 'ks', per)},"
            f" raw AS (SELECT s.i AS n, ks.i - 1 AS k FROM ks CROSS JOIN s),"
            f" mv AS (SELECT n, k, {kind} AS what,"
            f" CASE WHEN {kind} = 'reverse' THEN {amount_sql('0')} / 2 + 1"
            f" WHEN {kind} = 'redeem' THEN {amount_sql('1')} ELSE {amount_sql('k')} END AS amount FROM raw)"
        )
        step(
            "entries",
            f"{moves} INSERT INTO entries (id, program_id, member_id, kind, amount, shortfall, idempotency_key,"
            " request_hash, reason, actor, source_type, source_id, reverses_id, created_at)"
            f" SELECT {entry}, :program_id, {member}, CASE what WHEN 'pending' THEN 'earn' ELSE what END, amount, 0,"
            f" 'seed-' || {entry}, :hash, NULL, 'bench',"
            " CASE what WHEN 'redeem' THEN 'reward' ELSE 'order' END,"
            f" CASE what WHEN 'redeem' THEN '{reward}' ELSE n || '-' || k END,"
            f" CASE what WHEN 'reverse' THEN {first} END, sl.created_at"
            f" FROM mv JOIN bench_slots sl ON sl.slot = k * {span} + n % {span} ORDER BY k, n",
            hash="0" * 64,
        )
        available, pending = f"({a0} + 2 * n - 1)", f"({a0} + 2 * n)"
        step(
            "transfers",
            f"{moves} INSERT INTO transfers (id, program_id, entry_id, from_account_id, to_account_id, amount, created_at)"
            f" SELECT {t0} - {e0} + {entry}, :program_id, {entry},"
            f" CASE WHEN what IN ('reverse', 'redeem') THEN {available} ELSE {issued} END,"
            f" CASE what WHEN 'reverse' THEN {issued} WHEN 'redeem' THEN {redeemed}"
            f" WHEN 'pending' THEN {pending} ELSE {available} END, amount, sl.created_at"
            f" FROM mv JOIN bench_slots sl ON sl.slot = k * {span} + n % {span} ORDER BY k, n",
        )
        # A lot per earning, less what the refund (of k = 0) or the spending (of k = 1) consumed of it.
        consumed = (
            f"CASE WHEN {per} >= 4 AND k = 0 AND n % 10 = 0 THEN {amount_sql('0')} / 2 + 1"
            f" WHEN {per} >= 4 AND k = 1 AND n % 7 = 0 THEN amount ELSE 0 END"
        )
        step(
            "lots",
            f"{moves} INSERT INTO lots (id, program_id, account_id, entry_id, amount, remaining, created_at,"
            " expires_at, release_at)"
            f" SELECT {l0} - {e0} + {entry}, :program_id, CASE what WHEN 'pending' THEN {pending} ELSE {available} END,"
            f" {entry}, amount, amount - ({consumed}), sl.created_at, sl.expires_at,"
            " CASE what WHEN 'pending' THEN :release_at END"
            f" FROM mv JOIN bench_slots sl ON sl.slot = k * {span} + n % {span}"
            " WHERE what IN ('earn', 'pending') ORDER BY k, n",
            release_at=now + timedelta(days=14),
        )
        if per >= 4:
            step(
                "lot consumptions",
                f"{moves} INSERT INTO lot_consumptions (lot_id, transfer_id, amount)"
                f" SELECT {l0} - {e0} + {first} + CASE what WHEN 'redeem' THEN {members} ELSE 0 END,"
                f" {t0} - {e0} + {entry}, amount FROM mv WHERE what IN ('reverse', 'redeem')",
            )
            step(
                "redemptions",
                f"{moves} INSERT INTO redemptions (program_id, member_id, reward_id, idempotency_key, status, points,"
                " value, currency, code, details, entry_id, actor, created_at, used_at)"
                f" SELECT :program_id, {member}, {reward}, 'seed-' || n, 'used', amount, 5, 'USD', 'BIG-' || n, '{{}}',"
                f" {entry}, 'bench', sl.created_at, sl.created_at"
                f" FROM mv JOIN bench_slots sl ON sl.slot = k * {span} + n % {span} WHERE what = 'redeem'",
            )
            step(
                "reward stock",
                "UPDATE rewards SET issued_count = (SELECT count(*) FROM redemptions WHERE reward_id = rewards.id)"
                " WHERE program_id = :program_id",
            )
        step(
            "balances",
            "UPDATE accounts SET balance = d.total FROM ("
            " SELECT account_id, sum(delta) AS total FROM ("
            "  SELECT to_account_id AS account_id, amount AS delta FROM transfers WHERE program_id = :program_id"
            "  UNION ALL SELECT from_account_id, -amount FROM transfers WHERE program_id = :program_id) moves"
            " GROUP BY account_id) d"
            " WHERE accounts.id = d.account_id AND accounts.member_id IS NOT NULL",
        )
        if dialect == "postgresql":  # the sequences continue after the ids given here
            for table in ("members", "accounts", "entries", "transfers", "lots", "lot_consumptions", "redemptions"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        print(
            f"built {members:,} members, {members * per:,} transfers in {time.perf_counter() - began:.0f} s",
            file=sys.stderr,
        )


def _utc():
    from loyalty.types import UTCDateTime

    return UTCDateTime()


def make_program(app) -> tuple[str, str]:
    """The program, set up as a store's: returns ``(API key secret, widget secret)``."""
    from loyalty.access.api_keys import create_key
    from loyalty.db import db
    from loyalty.earning.rules import add_rule
    from loyalty.programs.program import create_program, update_program
    from loyalty.referrals import set_terms
    from loyalty.registry import current_registry
    from loyalty.rewards import add_reward
    from loyalty.tiers.levels import add_tier, set_scheme
    from loyalty.widget.settings import enable, settings_of

    session, registry, clock = db.session, current_registry(), app.config["CLOCK"]
    program = create_program(session, slug=SLUG, name="Big shop", currency="USD", clock=clock)
    update_program(session, program, expiry_policy="after_days", expiry_after=365)
    add_rule(
        session,
        program,
        registry,
        type="points_per_currency",
        config={"points_per_unit": "1"},
        name="Base rate",
        clock=clock,
    )
    add_rule(session, program, registry, type="signup_bonus", config={"points": 50}, name="Welcome", clock=clock)
    for rank, (name, threshold) in enumerate(zip(TIER_NAMES, (0, 500, 1500)), start=1):
        add_tier(session, program, name=name, rank=rank, threshold=threshold, clock=clock)
    set_scheme(session, program, registry, "points_earned", {})
    set_terms(program, registry, referrer_points=500, friend_points=250, link="https://shop.example/?ref={code}")
    add_reward(
        session,
        program,
        registry,
        type="fixed_amount_code",
        name="5 off",
        points=500,
        config={"amount": "5.00"},
        clock=clock,
    )
    enable(session, program, origins=["https://shop.example"], clock=clock)
    key = create_key(session, program, name="bench", clock=clock).secret
    session.commit()
    return key, settings_of(session, program).secret


def existing(app) -> tuple[int, int] | None:
    """``(members, entries)`` of the program already built here, or None."""
    from loyalty.db import db

    try:
        program_id = db.session.scalar(text("SELECT id FROM programs WHERE slug = :s"), {"s": SLUG})
    except Exception:  # no schema yet
        db.session.rollback()
        return None
    if program_id is None:
        return None
    members = db.session.scalar(text("SELECT count(*) FROM members WHERE program_id = :p"), {"p": program_id})
    entries = db.session.scalar(text("SELECT count(*) FROM entries WHERE program_id = :p"), {"p": program_id})
    return members, entries


def ensure(url: str, members: int, transfers: int, *, config: dict | None = None, rebuild: bool = False):
    """An app on ``url`` holding the big program of these sizes: built now, or found from an earlier run.

    Returns ``(app, api key secret, widget secret)``. A database built earlier
    gets a new API key (the secret is not stored).
    """
    from flask_migrate import upgrade

    from loyalty.access.api_keys import create_key
    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.programs.program import get_program
    from loyalty.widget.settings import settings_of

    per = max(1, transfers // members)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **(config or {})})
    with app.app_context():
        found = None if rebuild else existing(app)
        db.session.rollback()
        if found is not None and found[0] >= members and found[1] >= members * per and found[0] <= members * 1.05:
            print(f"reusing {found[0]:,} members, {found[1]:,} entries", file=sys.stderr)
            db.session.remove()
            upgrade()  # a migration added since the build (an index)
            program = get_program(db.session, SLUG)
            key = create_key(db.session, program, name="bench", clock=app.config["CLOCK"]).secret
            secret = settings_of(db.session, program).secret
            db.session.commit()
            db.session.remove()
            return app, key, secret
        db.session.remove()
        db.engine.dispose()
    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **(config or {})})
    with app.app_context():
        upgrade()
        key, secret = make_program(app)
        db.session.remove()
        build(db.engine, members, transfers, clock=app.config["CLOCK"])
        settle(db.engine)
    return app, key, secret


def settle(engine) -> None:
    """Fresh statistics and (PostgreSQL) a visibility map, as autovacuum gives a live database after bulk writes."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--transfers", type=int, default=10_000_000)
    parser.add_argument("--database-url", required=True, help="emptied unless it holds the program already")
    parser.add_argument("--verify", action="store_true", help="run loyalty verify's checks on the result (timed)")
    parser.add_argument("--rebuild", action="store_true", help="build afresh even if the program is there")
    args = parser.parse_args()
    began = time.perf_counter()
    app, _, _ = ensure(args.database_url, args.members, args.transfers, rebuild=args.rebuild)
    print(f"ready in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    if args.verify:
        from loyalty.db import db
        from loyalty.invariants import verify

        with app.app_context():
            began = time.perf_counter()
            violations = verify(db.session, SLUG)
            print(f"verify: {len(violations)} violations in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            for violation in violations[:20]:
                print(f"  {violation}", file=sys.stderr)
            return 1 if violations else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
