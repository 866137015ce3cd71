"""A member: one of the store's customers, enrolled in one program."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

MEMBER_STATUSES = ("active", "suspended", "closed")


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        # Target of composite foreign keys: whatever names a member also names
        # its program, so no row can mix two programs.
        UniqueConstraint("program_id", "id"),
        UniqueConstraint("program_id", "referral_code"),
        Index("ix_members_program_email", "program_id", "email"),
        # The dashboard's tier distribution and member count read only this index;
        # its new members, a range of this one.
        Index("ix_members_program_tier", "program_id", "tier_id"),
        Index("ix_members_program_enrolled", "program_id", "enrolled_at"),
        CheckConstraint("status IN ('active', 'suspended', 'closed')", name="status"),
        ForeignKeyConstraint(["program_id", "tier_id"], ["tiers.program_id", "tiers.id"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    #: The store's own customer id (Shopify customer id, e-mail for guests…).
    external_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    birthday: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The code the member shares with friends (a discount code, a ``ref`` link parameter).
    referral_code: Mapped[str] = mapped_column(String(32))
    tier_id: Mapped[int | None] = mapped_column(BigId)
    #: A tier given by hand: the member is never below it until ``tier_floor_until`` (none: for good).
    tier_floor_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"))
    tier_floor_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Since when the member's value no longer keeps their tier (the grace period runs from here).
    tier_at_risk_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the member opted out of messages (the unsubscribe link, the API, the widget); none: subscribed.
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tier = relationship("Tier", foreign_keys=[tier_id], primaryjoin="Member.tier_id == Tier.id")

    def __repr__(self) -> str:
        return f"<Member {self.external_id} of program {self.program_id}>"
