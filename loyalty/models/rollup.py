"""Daily roll-ups of a program's figures, written by the ``rollups`` job (see :mod:`loyalty.reporting.rollups`).

They are a cache of what the ledger already says: every row can be
recomputed from the immutable entries and transfers, and ``loyalty
verify`` does exactly that. Nothing else writes them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId


class DailyFigure(db.Model):
    """One additive figure of one UTC day: points moved by an entry kind, or the change of members' balances.

    ``figure`` is ``entries:<kind>`` (the sum of that day's entries of a
    kind: ``entries:earn``, ``entries:redeem``…) or ``balance:<account
    kind>`` (``balance:available``, ``balance:pending``: what that day's
    transfers added to the members' accounts of that kind, negative when
    they took more than they gave). Figures that were zero have no row.
    """

    __tablename__ = "daily_figures"

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    figure: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class MemberActivity(db.Model):
    """The last rolled-up day on which a member earned or spent points: active members over any period, by index."""

    __tablename__ = "member_activity"
    __table_args__ = (
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        Index("ix_member_activity_program_day", "program_id", "last_active_on"),
    )

    member_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    last_active_on: Mapped[date] = mapped_column(Date)
