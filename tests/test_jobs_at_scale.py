"""What keeps the scheduled jobs fast at a million members, pinned without timing (issue 19, goal 6).

* The release and expiry sweeps find their due lots through the partial
  indexes ``ix_lots_releasing`` / ``ix_lots_expiring`` (migration 0015), in
  lot id order, so a batch reads only lots still open, not every lot the
  earlier batches emptied (measured: ``bench/jobs.py --big``).
* The tier recalculation writes its changes a batch of ``WRITE_BATCH``
  members at a time, with the same result as one batch.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, literal_column, select

from loyalty.ledger import Ledger
from loyalty.ledger import statements as sql
from loyalty.models import Member, TierChange
from loyalty.programs.members import enrol
from loyalty.tiers import recalculate as recalculation
from loyalty.tiers.levels import add_tier, set_scheme
from tests.helpers import statements_issued

DAY = timedelta(days=1)


def plan(session, query) -> str:
    """The database's plan for ``query``, as text (PostgreSQL's EXPLAIN, SQLite's EXPLAIN QUERY PLAN)."""
    compiled = query.compile(session.get_bind())
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask which index can serve it
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
        return "\n".join(row[0] for row in rows)
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(compiled.params.values())).all()
    return "\n".join(str(row[-1]) for row in rows)


def due_lots(program_id, condition):
    lots = sql.lots
    return (
        select(lots.c.id)
        .where(lots.c.program_id == program_id, lots.c.remaining > literal_column("0"), condition)
        .order_by(lots.c.id)
        .limit(1000)
    )


@pytest.mark.parametrize(
    "index, condition",
    [
        ("ix_lots_releasing", lambda now: sql.lots.c.release_at <= now),
        ("ix_lots_expiring", lambda now: sql.lots.c.expires_at <= now),
    ],
)
def test_the_sweeps_due_lots_have_a_partial_index(session, program, clock, index, condition):
    assert index in plan(session, due_lots(program.id, condition(clock.now())))
    session.rollback()


def test_the_sweeps_query_the_indexed_condition(session, program, member, clock):
    """The sweep's query names ``remaining > 0`` literally: a bound 0 would not let the planner use the indexes."""
    ledger = Ledger(session, clock)
    ledger.earn(member, 10, key="e1", pending=True, release_at=clock.now() + DAY)
    ledger.earn(member, 20, key="e2", expires_at=clock.now() + DAY)
    session.commit()
    clock.advance(DAY)
    with statements_issued(session) as issued:
        assert len(ledger.release_due(program.id)) == 1
        assert len(ledger.expire_due(program.id)) == 1
    session.commit()
    due_queries = [s for s in issued if s.lstrip().startswith("SELECT lots.id") and "LIMIT" in s]
    assert due_queries and all("lots.remaining > 0" in s for s in due_queries)


def test_the_recalculation_writes_in_batches_with_the_same_result(session, program, registry, clock, monkeypatch):
    add_tier(session, program, name="Bronze", rank=1, threshold="0", clock=clock)
    add_tier(session, program, name="Silver", rank=2, threshold="500", clock=clock)
    set_scheme(session, program, registry, "points_earned", {"window_days": 365})
    ledger = Ledger(session, clock)
    for n in range(7):
        member, _ = enrol(session, program, external_id=f"m{n}", clock=clock)
        ledger.earn(member, 600 if n % 2 else 100, key=f"e{n}")
    session.commit()
    monkeypatch.setattr(recalculation, "WRITE_BATCH", 3)
    with statements_issued(session) as issued:
        result = recalculation.recalculate(session, program, registry=registry, clock=clock)
    session.commit()
    assert (result.members, result.upgraded, result.downgraded) == (7, 7, 0)
    member_updates = [s for s in issued if s.lstrip().startswith("UPDATE members")]
    assert len(member_updates) == 3  # 3 + 3 + 1 members
    tiers = dict(session.execute(select(Member.external_id, Member.tier_id)).all())
    silver = {f"m{n}" for n in range(7) if n % 2}
    assert len({tiers[m] for m in silver}) == 1 and len({tiers[m] for m in set(tiers) - silver}) == 1
    assert session.scalar(select(func.count()).select_from(TierChange)) == 7
