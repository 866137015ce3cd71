"""The storefront widget's settings: one row per program that ever enabled it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: How shoppers become members: a valid member token enrols them (``widget``), or only an order does.
WIDGET_JOINS = ("widget", "order")


class WidgetSettings(db.Model):
    __tablename__ = "widget_settings"
    __table_args__ = (CheckConstraint("joins IN ('widget', 'order')", name="joins"),)

    program_id: Mapped[int] = mapped_column(BigId, ForeignKey("programs.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    #: Signs member tokens (HS256 JWTs and the digest form). Kept as it is, not hashed: the platform
    #: must compute the same signature to check one. Shown once when made; masked everywhere after.
    secret: Mapped[str] = mapped_column(String(64))
    #: The store's origins (``https://shop.example``) allowed to call the member API from a browser.
    origins: Mapped[list] = mapped_column(JSON, default=list)
    #: Colours, launcher position and label (only what the program changed; defaults fill the rest).
    appearance: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The widget's texts that the program replaced (a translation, say); English defaults fill the rest.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Where the guest view sends shoppers to sign in and to create an account, on the store.
    sign_in_url: Mapped[str | None] = mapped_column(String(2000))
    sign_up_url: Mapped[str | None] = mapped_column(String(2000))
    joins: Mapped[str] = mapped_column(String(16), default="widget", server_default="widget")
    secret_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<WidgetSettings of program {self.program_id} {'on' if self.enabled else 'off'}>"
