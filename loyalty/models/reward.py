"""The reward catalog, members' redemptions, and imported code pools."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: pending: being issued (never committed as such); issued: the member has it; used: an order used its code;
#: cancelled: given back (points returned); failed: issuing failed, no points were spent.
REDEMPTION_STATUSES = ("issued", "used", "cancelled", "failed")

#: fixed: ``points`` buys the reward; variable: points in steps of ``points``, each worth ``step_value``.
PRICINGS = ("fixed", "variable")


class Reward(db.Model):
    """A reward in a program's catalog: an instance of a reward type, with its price and availability.

    Priced ``fixed`` (``points`` each) or ``variable`` (``points`` per step
    of ``step_value`` money, between ``min_points`` and ``max_points``).
    """

    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("program_id", "name"),
        UniqueConstraint("program_id", "id"),
        CheckConstraint("pricing IN ('fixed', 'variable')", name="pricing"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("stock IS NULL OR issued_count <= stock", name="within_stock"),
        CheckConstraint("issued_count >= 0", name="issued_non_negative"),
        Index("ix_rewards_program", "program_id", "active"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    #: A reward type contributed by a plugin; ``config`` is what its schema accepted.
    type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    pricing: Mapped[str] = mapped_column(String(10), default="fixed")
    #: Fixed: the cost. Variable: the points per step.
    points: Mapped[int]
    #: Variable: the money one step is worth (in the program's currency), and the bounds in points.
    step_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    min_points: Mapped[int | None] = mapped_column()
    max_points: Mapped[int | None] = mapped_column()
    #: Availability.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    min_tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id"))
    #: How many may ever be issued (none: no limit), and how many are (cancelled ones come back).
    stock: Mapped[int | None] = mapped_column()
    issued_count: Mapped[int] = mapped_column(default=0, server_default="0")
    limit_per_member: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Redemption(db.Model):
    """A member's redemption of a reward: points spent (or a gift), and what was issued."""

    __tablename__ = "redemptions"
    __table_args__ = (
        ForeignKeyConstraint(["program_id", "member_id"], ["members.program_id", "members.id"]),
        ForeignKeyConstraint(["program_id", "reward_id"], ["rewards.program_id", "rewards.id"]),
        # A repeated request (same key) is the same redemption.
        UniqueConstraint("member_id", "idempotency_key"),
        # Codes are unique per program, so a store can look one up.
        UniqueConstraint("program_id", "code"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in REDEMPTION_STATUSES) + ")", name="status"
        ),
        CheckConstraint("points >= 0", name="points_non_negative"),
        Index("ix_redemptions_member", "member_id", "id"),
        Index("ix_redemptions_reward_member", "reward_id", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(BigId)
    reward_id: Mapped[int] = mapped_column(BigId)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    #: Points spent (0 for a gift, e.g. a referred friend's welcome reward).
    points: Mapped[int]
    #: The money the reward is worth, when it has one (amount off, store credit).
    value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    code: Mapped[str | None] = mapped_column(String(64))
    #: What the reward type returned (e.g. Stripe coupon and promotion code ids), and why it failed.
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    #: The ledger entries: the spending, and its reversal when cancelled.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    reversal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    #: The order that used the code, if the store told us.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    #: Why it exists when it is not a purchase: ``referral:<id>``.
    source: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RewardCode(db.Model):
    """An imported code (a pool) for a reward whose codes are made elsewhere, e.g. in the store's admin."""

    __tablename__ = "reward_codes"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        Index("ix_reward_codes_free", "reward_id", "redemption_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(64))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
