"""``points.expiring``: telling members, a program's notice period ahead, that points are about to expire.

One event per member and expiry date (the UTC calendar day), with the
points left in the lots that expire that day. The ``expiring`` job runs
daily; a lot comes into the notice window once, and the event's
``dedupe_key`` (``expiring:<member id>:<date>``) makes a second run, or
the next day's run that sees the same date again, record nothing. Points
earned after the notice, expiring on a day already noticed, are not
noticed again: a member is told once per date.

Set-based: one grouped query per program (the available lots with points
left that expire within the window, of active members) and one
executemany of the events that are new (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.messages import outbox
from loyalty.models import Account, Lot, Member, Program

#: Events written per statement.
BATCH = 1000


def _day(session: Session, column):
    """The UTC calendar day of a timestamp, as ``YYYY-MM-DD`` (SQLite keeps UTC; PostgreSQL is told so)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def notice_expiring(session: Session, program: Program, now: datetime) -> int:
    """Record the program's ``points.expiring`` events due now; returns how many member-days were due.

    Nothing when the program's ``expiring_notice_days`` is none (members
    are never told). Counts every member-day in the window, noticed before
    or not: the outbox leaves out the ones whose key is taken.
    """
    days = program.expiring_notice_days
    if days is None:
        return 0
    day = _day(session, Lot.expires_at)
    due = session.execute(
        select(Account.member_id, day.label("day"), func.sum(Lot.remaining), func.min(Lot.expires_at))
        .join(Account, Account.id == Lot.account_id)
        .join(Member, Member.id == Account.member_id)
        .where(
            Lot.program_id == program.id,
            Account.kind == "available",
            Lot.remaining > 0,
            Lot.expires_at > now,
            Lot.expires_at <= now + timedelta(days=days),
            Member.status == "active",
        )
        .group_by(Account.member_id, day)
        .order_by(Account.member_id, day)
    ).all()
    rows = [
        outbox.row(
            program.id,
            "points.expiring",
            at=now,
            member_id=member_id,
            data={
                # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
                "points": int(points),
                "date": date,
                "expires_at": first.isoformat().replace("+00:00", "Z"),
            },
            dedupe_key=f"expiring:{member_id}:{date}",
        )
        for member_id, date, points, first in due
    ]
    for start in range(0, len(rows), BATCH):
        outbox.record_many(session, rows[start : start + BATCH])
    return len(rows)
