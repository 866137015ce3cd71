"""A million-member program for ``bench/jobs.py --big``, built set-based on PostgreSQL.

One ``INSERT ... SELECT FROM generate_series`` per table, in the shapes the
ledger writes (:mod:`loyalty.ledger.rows`): every earning is an ``earn``
entry with its one transfer from the program's ``issued`` account and the
lot it opened, and the members' cached balances are the sums of their lots,
so ``loyalty verify`` passes on the result. Building through the ledger one
earning at a time would take hours at 10,000,000 earnings.

The shape, for M members and T earnings (``T >= 2 * M``):

* member ``m`` has the earnings ``m, m + M, m + 2M, ...``; earning ``g`` was
  made ``(T - g) / T`` of two years ago, so every member's earnings are
  spread over the two years and half of them fall in a 365-day window;
* the last M earnings (one per member, the newest) went to the pending
  account, due for release now (``release_at`` an hour ago);
* the first ``expired`` earnings (the oldest, default M) have expired
  (``expires_at`` in the past); every other lot expires in the future;
* members start in tiers ``m % 3``; the recalculation moves those whose
  value says otherwise.

The foreign keys' triggers are off while loading (``session_replication_role
= replica``: the rows are consistent by construction and verify checks
them), then ``VACUUM ANALYZE`` as autovacuum would after such a load.

This lives here, not in a shared module, while ``bench/big_program.py``
(another branch) builds the same shape for the read benchmarks; the two
are to be merged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

SPAN = timedelta(days=730)


def build(engine, program_id: int, tier_ids: list[int], *, members: int, earnings: int, expired: int, now: datetime):
    """Fill ``program_id`` (created through the platform, with its system accounts and tiers) on PostgreSQL."""
    if earnings < 2 * members:
        raise SystemExit("--transfers must be at least twice --members (one pending and one older earning each)")
    span = int(SPAN.total_seconds())
    params = {
        "p": program_id,
        "m": members,
        "t": earnings,
        "e": expired,
        "now": now,
        "span": span,
        # Lots made before this many seconds ago have expired: exactly the oldest ``expired`` ones.
        "life": span * (earnings - expired) // earnings,
        "t1": tier_ids[0],
        "t2": tier_ids[1],
        "t3": tier_ids[2],
    }
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        issued = conn.execute(
            text("SELECT id FROM accounts WHERE program_id = :p AND kind = 'issued'"), params
        ).scalar_one()
        first = conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM accounts")).scalar_one()
        params.update(issued=issued, first=first)
        for statement in STATEMENTS:
            conn.execute(text(statement), params)
        for table in ("members", "accounts", "entries", "transfers", "lots"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


#: Member ``m``'s available account is ``first + 2m``, its pending account ``first + 2m + 1``.
STATEMENTS = [
    """
    INSERT INTO members (id, program_id, external_id, email, name, status, enrolled_at, referral_code, tier_id)
    SELECT g, :p, 'cust-' || g, 'c' || g || '@example.com', 'Customer ' || g, 'active',
           :now - interval '800 days', 'R' || lpad(g::text, 9, '0'),
           CASE g % 3 WHEN 0 THEN :t1 WHEN 1 THEN :t2 ELSE :t3 END
    FROM generate_series(1, CAST(:m AS bigint)) AS g
    """,
    """
    INSERT INTO accounts (id, program_id, member_id, kind, balance, created_at)
    SELECT :first + 2 * g + k, :p, g, CASE k WHEN 0 THEN 'available' ELSE 'pending' END, 0, :now - interval '800 days'
    FROM generate_series(1, CAST(:m AS bigint)) AS g, generate_series(0, 1) AS k
    """,
    # Earning g: member (g - 1) % M + 1, made (T - g) / T of the span ago; the last M are pending.
    """
    CREATE TEMP TABLE seed_earnings ON COMMIT DROP AS
    SELECT g AS id, (g - 1) % :m + 1 AS member_id, g % 500 + 1 AS amount,
           :now - make_interval(secs => (:t - g) * :span / :t) AS created_at,
           g > :t - :m AS pending
    FROM generate_series(1, CAST(:t AS bigint)) AS g
    """,
    """
    INSERT INTO entries (id, program_id, member_id, kind, amount, shortfall, idempotency_key, request_hash,
                         actor, created_at)
    SELECT id, :p, member_id, 'earn', amount, 0, 'seed-' || id, repeat('0', 64), 'bench', created_at
    FROM seed_earnings
    """,
    """
    INSERT INTO transfers (id, program_id, entry_id, from_account_id, to_account_id, amount, created_at)
    SELECT id, :p, id, :issued, :first + 2 * member_id + pending::int, amount, created_at FROM seed_earnings
    """,
    """
    INSERT INTO lots (id, program_id, account_id, entry_id, amount, remaining, created_at, expires_at, release_at)
    SELECT id, :p, :first + 2 * member_id + pending::int, id, amount, amount, created_at,
           created_at + make_interval(secs => :life),
           CASE WHEN pending THEN :now - interval '1 hour' END
    FROM seed_earnings
    """,
    """
    UPDATE accounts SET balance = open.total
    FROM (SELECT account_id, sum(remaining) AS total FROM lots WHERE program_id = :p GROUP BY account_id) AS open
    WHERE accounts.id = open.account_id
    """,
]
