"""Tiers and the history of members' moves between them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, DecimalText, UTCDateTime


class Tier(db.Model):
    """A level of the program. Its perks apply to what members in it earn.

    The tier scheme that moves members between tiers arrives with the tiers
    issue; until then a member's tier is set by hand.
    """

    __tablename__ = "tiers"
    __table_args__ = (
        UniqueConstraint("program_id", "name"),
        UniqueConstraint("program_id", "rank"),
        UniqueConstraint("program_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: Higher is better; the entry tier has the lowest rank.
    rank: Mapped[int]
    #: Applied to what earning rules award to members of this tier (1.5 = +50%).
    earn_multiplier: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(1))
    #: The program's tier scheme value (points, amount, orders) that reaches this tier.
    threshold: Mapped[Decimal] = mapped_column(Numeric(20, 4), default=Decimal(0), server_default="0")
    #: A lower value that keeps a member in the tier once reached (none: the threshold).
    keep_threshold: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    #: Perks shown to members, free text ("Free shipping, early access").
    perks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierChange(db.Model):
    """A member's move between tiers, with why: the tier history."""

    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_member", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"))
    to_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"))
    #: upgrade, downgrade, manual, floor_ended
    reason: Mapped[str] = mapped_column(String(32))
    #: The scheme's value for the member when the change was decided.
    qualifying_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
