"""A referral: a member (the referrer) brought a friend to the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: pending: attributed, waiting for the friend's qualifying order;
#: flagged: a fraud check asks a person to approve or reject it;
#: converted: the qualifying order came, the review period (return window) runs;
#: rewarded: the review period passed and the points were posted;
#: rejected: a fraud check or a person refused it (``reason`` says why);
#: cancelled: the qualifying order was refunded or cancelled during the review period.
REFERRAL_STATUSES = ("pending", "flagged", "converted", "rewarded", "rejected", "cancelled")


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        # A customer is referred once per program: the first attribution wins.
        UniqueConstraint("program_id", "friend_external_id"),
        ForeignKeyConstraint(["program_id", "referrer_id"], ["members.program_id", "members.id"]),
        CheckConstraint("status IN (" + ", ".join(f"'{status}'" for status in REFERRAL_STATUSES) + ")", name="status"),
        CheckConstraint("referrer_points >= 0 AND friend_points >= 0", name="points_non_negative"),
        Index("ix_referrals_referrer", "referrer_id", "created_at"),
        Index("ix_referrals_ip", "program_id", "ip", "created_at"),
        Index("ix_referrals_due", "program_id", "status", "review_until"),
        Index("ix_referrals_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    referrer_id: Mapped[int] = mapped_column(BigId)
    #: The referrer's code (upper-case, as members have it), and how it reached us:
    #: discount_code, note_attribute, landing_site, meta_data, metadata, attribute or api.
    code: Mapped[str] = mapped_column(String(32))
    via: Mapped[str] = mapped_column(String(32))
    #: The friend: the store's customer id (they may not be a member yet), e-mail, member once enrolled.
    friend_external_id: Mapped[str] = mapped_column(String(255))
    friend_email: Mapped[str | None] = mapped_column(String(320))
    friend_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    #: The friend's IP address as the store saw it (velocity checks count by it).
    ip: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    #: Why it was rejected, flagged, cancelled, or rewarded only in part.
    reason: Mapped[str | None] = mapped_column(Text)
    #: The friend's qualifying order.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    #: The end of the review period: rewarded after it unless the order was refunded or cancelled.
    review_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Points promised at conversion (the terms then), and after the reward what was posted.
    referrer_points: Mapped[int] = mapped_column(default=0)
    friend_points: Mapped[int] = mapped_column(default=0)
    referrer_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    friend_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    #: A catalog reward for the friend (the terms at conversion), and the redemption that gave it.
    friend_reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    friend_redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    #: Who approved or rejected it by hand (``cli:ann``), if someone did.
    decided_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Referral {self.id} {self.code} -> {self.friend_external_id} {self.status}>"
