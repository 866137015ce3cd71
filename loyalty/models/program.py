"""A loyalty program: one store's points currency, members and rules."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

CLAWBACK_POLICIES = ("allow_negative", "cap_at_zero")


class Program(db.Model):
    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("clawback_policy IN ('allow_negative', 'cap_at_zero')", name="clawback_policy"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("return_window_days >= 0", name="return_window_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ISO 4217 code of the store's money; points themselves are unit-less integers.
    currency: Mapped[str] = mapped_column(String(3))
    #: The store's IANA time zone (``Europe/Paris``): the admin shows times and takes dates in it.
    #: Storage stays UTC everywhere; this is only how people read and type times.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: What a claw-back (refund) does when the member has already spent the points:
    #: ``allow_negative`` takes them anyway, ``cap_at_zero`` stops at zero and
    #: records the rest as the entry's shortfall.
    clawback_policy: Mapped[str] = mapped_column(String(20), default="allow_negative")
    #: Days points from an order stay pending (the store's return window);
    #: 0 makes them available at once.
    return_window_days: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When earned points expire: none, after_days, end_of_month, end_of_year (per lot, set when
    #: earned) or inactivity (everything, after ``expiry_after`` days without earning or spending).
    expiry_policy: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    #: Days (after_days, inactivity), months (end_of_month) or years (end_of_year).
    expiry_after: Mapped[int | None] = mapped_column()
    #: The tier scheme plugin that moves members between tiers (none: tiers are given by hand).
    tier_scheme: Mapped[str | None] = mapped_column(String(64))
    #: Its settings, as the scheme's schema accepted them (window, downgrade policy…).
    tier_settings: Mapped[dict | None] = mapped_column(JSON)
    #: When the scheduler recalculates this program's tiers (cron; nightly by default).
    tier_cron: Mapped[str] = mapped_column(String(100), default="0 3 * * *", server_default="0 3 * * *")
    #: Days before a lot expires that members are told (``points.expiring``); none: never told.
    expiring_notice_days: Mapped[int | None] = mapped_column(default=14, server_default="14")
    #: The referral terms (points for both sides, minimum order, cap, review period, link,
    #: fraud-check settings) as :class:`loyalty.referrals.terms.TermsSchema` accepted them; none: no referrals.
    referral_terms: Mapped[dict | None] = mapped_column(JSON)
    #: Days before this one (UTC) are rolled up in ``daily_figures`` and ``member_activity``
    #: by the ``rollups`` job; none: nothing is rolled up yet, the dashboard counts everything live.
    rolled_up_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Program {self.slug}>"
