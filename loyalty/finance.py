"""What finance asks a points ledger: a rollforward per period, and breakage by cohort.

Both come from the immutable transfers, so they are exact and can be asked
for any past period. Only transfers between a member's account and a
system account count (a release from pending to available moves nothing
the program owes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from loyalty.models import Account, Entry, Lot, LotConsumption, Program, Transfer

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


def _member_flows(program: Program):
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
        .where(Transfer.program_id == program.id, to_member.id.is_(None) != from_member.id.is_(None))
    )


def _line(kind: str, original_kind: str | None) -> str:
    if kind == "earn":
        return "issued"
    if kind == "reverse":  # a correction counts with what it corrects; refunds of earnings on their own line
        return {"earn": "reversed_by_refunds", "redeem": "redeemed", "expire": "expired"}.get(original_kind, "adjusted")
    return {"redeem": "redeemed", "expire": "expired"}.get(kind, "adjusted")


def rollforward(session: Session, program: Program, since: datetime, until: datetime) -> Rollforward:
    """Opening balance at ``since``, what moved in ``(since, until]`` by line, and the closing balance."""
    flows = _member_flows(program).subquery()
    opening = session.scalar(select(func.coalesce(func.sum(flows.c.amount), 0)).where(flows.c.created_at <= since))
    report = Rollforward(since, until, int(opening), {line: 0 for line in LINES})
    for kind, original_kind, amount in session.execute(
        select(flows.c.kind, flows.c.original_kind, func.sum(flows.c.amount))
        .where(flows.c.created_at > since, flows.c.created_at <= until)
        .group_by(flows.c.kind, flows.c.original_kind)
    ):
        report.lines[_line(kind, original_kind)] += int(amount)
    return report


def breakage(session: Session, program: Program) -> list[tuple[str, int, int]]:
    """``(month, points earned, of them expired unspent)`` per month the earned points became spendable (UTC).

    A cohort is the available lots opened by an earning, or by the release
    of a pending earning at the end of the return window, in that month;
    its breakage is what expiry took from those lots.
    """
    month = (func.to_char(Lot.created_at, "YYYY-MM") if session.get_bind().dialect.name == "postgresql"
             else func.strftime("%Y-%m", Lot.created_at))
    expired = (
        select(LotConsumption.lot_id, func.sum(LotConsumption.amount).label("amount"))
        .join(Transfer, Transfer.id == LotConsumption.transfer_id)
        .join(Entry, Entry.id == Transfer.entry_id)
        .where(Entry.kind == "expire", Transfer.program_id == program.id)
        .group_by(LotConsumption.lot_id)
        .subquery()
    )
    earned_lot = select(Entry.id).where(Entry.id == Lot.entry_id, Entry.kind.in_(("earn", "release"))).exists()
    rows = session.execute(
        select(month.label("month"), func.sum(Lot.amount), func.coalesce(func.sum(expired.c.amount), 0))
        .select_from(Lot).join(Account, Account.id == Lot.account_id)
        .outerjoin(expired, expired.c.lot_id == Lot.id)
        .where(Lot.program_id == program.id, Account.kind == "available", earned_lot)
        .group_by(month).order_by(month)
    ).all()
    return [(str(m), int(earned), int(gone)) for m, earned, gone in rows]
