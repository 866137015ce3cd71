"""What finance asks a points ledger: a rollforward per period, and breakage by cohort.

Both come from the immutable transfers, so they are exact and can be asked
for any past period. Only transfers between a member's account and a
system account count (a release from pending to available moves nothing
the program owes).

Both are additive by day, so the ``rollups`` job keeps them in
``daily_figures`` and these reports read whole rolled-up days from there
and the rest live (:mod:`loyalty.reporting.periods`): the rollforward as
``rollforward:<line>`` per day of the transfer; breakage as
``cohort:<month>:earned`` on the day a cohort's lot opened and
``cohort:<month>:expired`` on the day expiry took from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from loyalty.models import Account, Entry, Lot, LotConsumption, Program, Transfer
from loyalty.reporting.periods import TICK, between, plan, sum_figures, utc_month

#: Rollforward lines, in order; every member-affecting entry falls in one.
LINES = ("issued", "reversed_by_refunds", "redeemed", "expired", "adjusted")


@dataclass
class Rollforward:
    since: datetime
    until: datetime
    opening: int
    lines: dict = field(default_factory=dict)

    @property
    def closing(self) -> int:
        return self.opening + sum(self.lines.values())


def _member_flows(program_id: int):
    """Each transfer between a member account and a system account, signed (+: to the member), with its entry."""
    to_member = aliased(Account)
    from_member = aliased(Account)
    original = aliased(Entry)
    signed = case((to_member.id.is_not(None), Transfer.amount), else_=-Transfer.amount)
    return (
        select(Entry.kind, original.kind.label("original_kind"), Entry.created_at, signed.label("amount"))
        .select_from(Transfer)
        .join(Entry, Entry.id == Transfer.entry_id)
        .outerjoin(original, original.id == Entry.reverses_id)
        .outerjoin(to_member, and_(to_member.id == Transfer.to_account_id, to_member.member_id.is_not(None)))
        .outerjoin(from_member, and_(from_member.id == Transfer.from_account_id, from_member.member_id.is_not(None)))
        .where(Transfer.program_id == program_id, to_member.id.is_(None) != from_member.id.is_(None))
    )


def _line(kind: str, original_kind: str | None) -> str:
    if kind == "earn":
        return "issued"
    if kind == "reverse":  # a correction counts with what it corrects; refunds of earnings on their own line
        return {"earn": "reversed_by_refunds", "redeem": "redeemed", "expire": "expired"}.get(original_kind, "adjusted")
    return {"redeem": "redeemed", "expire": "expired"}.get(kind, "adjusted")


def flows_by_line(session: Session, program_id: int, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """The member flows of ``[start, end)`` summed per rollforward line, as ``rollforward:<line>``."""
    flows = (
        _member_flows(program_id)
        .where(Entry.program_id == program_id, *between(Entry.created_at, start, end))
        .subquery()
    )
    totals: dict[str, int] = {}
    by_kind = select(flows.c.kind, flows.c.original_kind, func.sum(flows.c.amount)).group_by(
        flows.c.kind, flows.c.original_kind
    )
    for kind, original_kind, amount in session.execute(by_kind):
        name = f"rollforward:{_line(kind, original_kind)}"
        totals[name] = totals.get(name, 0) + int(amount)
    return totals


def rollforward(session: Session, program: Program, since: datetime, until: datetime) -> Rollforward:
    """Opening balance at ``since``, what moved in ``(since, until]`` by line, and the closing balance."""
    start, end = since + TICK, until + TICK

    def live(a, b):
        return flows_by_line(session, program.id, a, b)

    opening = sum(sum_figures(session, program.id, plan(program, None, start), "rollforward:", live).values())
    moved = sum_figures(session, program.id, plan(program, start, end), "rollforward:", live)
    return Rollforward(since, until, opening, {line: moved.get(f"rollforward:{line}", 0) for line in LINES})


def cohort_changes(session: Session, program_id: int, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """Breakage's figures for ``[start, end)``, per cohort month: points that became spendable, and that expired.

    A cohort is what earnings, and releases of pending earnings at the end
    of the return window, moved into members' available balances in a
    month (UTC); each such transfer opens one lot of its amount.
    ``expired`` is what expiry took from a cohort's lots in the range. Both
    start from the range's entries (``ix_entries_program_created``).
    """
    in_range = (Entry.program_id == program_id, *between(Entry.created_at, start, end))
    opened = utc_month(session, Entry.created_at)
    totals = {
        f"cohort:{m}:earned": int(amount)
        for m, amount in session.execute(
            select(opened, func.sum(Transfer.amount))
            .select_from(Entry)
            .join(Transfer, Transfer.entry_id == Entry.id)
            .join(Account, and_(Account.id == Transfer.to_account_id, Account.kind == "available"))
            .where(*in_range, Entry.kind.in_(("earn", "release")))
            .group_by(opened)
        )
    }
    opened_by = aliased(Entry)
    month = utc_month(session, Lot.created_at)
    totals.update(
        {
            f"cohort:{m}:expired": int(amount)
            for m, amount in session.execute(
                select(month, func.sum(LotConsumption.amount))
                .select_from(Entry)
                .join(Transfer, Transfer.entry_id == Entry.id)
                .join(LotConsumption, LotConsumption.transfer_id == Transfer.id)
                .join(Lot, Lot.id == LotConsumption.lot_id)
                .join(Account, and_(Account.id == Lot.account_id, Account.kind == "available"))
                .join(opened_by, and_(opened_by.id == Lot.entry_id, opened_by.kind.in_(("earn", "release"))))
                .where(*in_range, Entry.kind == "expire")
                .group_by(month)
            )
        }
    )
    return totals


def breakage(session: Session, program: Program) -> list[tuple[str, int, int]]:
    """``(month, points earned, of them expired unspent)`` per month the earned points became spendable (UTC)."""
    cohorts = sum_figures(
        session,
        program.id,
        plan(program, None, None),
        "cohort:",
        lambda a, b: cohort_changes(session, program.id, a, b),
    )
    months = sorted({name.split(":")[1] for name in cohorts})
    return [(m, cohorts.get(f"cohort:{m}:earned", 0), cohorts.get(f"cohort:{m}:expired", 0)) for m in months]
