"""The people who sign in to the admin, which programs they may see, and what they changed."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty.db import db
from loyalty.types import BigId, UTCDateTime

#: owner: everything, including people and secrets; manager: the program's settings and members;
#: viewer: reads everything, changes nothing.
ADMIN_ROLES = ("owner", "manager", "viewer")

admin_user_programs = Table(
    "admin_user_programs",
    db.metadata,
    Column("admin_user_id", BigId, ForeignKey("admin_users.id"), primary_key=True),
    Column("program_id", BigId, ForeignKey("programs.id"), primary_key=True),
)


class AdminUser(db.Model):
    __tablename__ = "admin_users"
    __table_args__ = (CheckConstraint("role IN ('owner', 'manager', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Stored lower-case; signing in ignores case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: werkzeug's salted hash (scrypt), never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: In every session cookie (through :meth:`get_id`): a new one, on sign-out or a password change,
    #: ends every session of the account, cookies saved before included.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: new_session_token())

    #: The programs this person may see; none listed: every program.
    programs = relationship("Program", secondary=admin_user_programs, lazy="selectin")

    # Flask-Login's user interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: the id and the session token."""
        return f"{self.id}:{self.session_token}"

    def may_see(self, program) -> bool:
        return not self.programs or any(p.id == program.id for p in self.programs)

    def may_change(self) -> bool:
        return self.role in ("owner", "manager")


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class AuditEntry(db.Model):
    """One change a person made: who, what, before, after, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_program", "program_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    admin_user_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    #: Who, as shown: the e-mail at the time (``cli:ann`` for the command line).
    actor: Mapped[str] = mapped_column(String(320))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    #: What: ``member.adjust``, ``tier.update``, ``rule.pause``…, and the thing changed.
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RateLimitCounter(db.Model):
    """One fixed window of a rate limit (sign-in attempts per address): shared by every worker and machine
    that shares the database (see :mod:`loyalty.access.rate_limits`)."""

    __tablename__ = "rate_limits"
    __table_args__ = (Index("ix_rate_limits_expires_at", "expires_at"),)

    #: Flask-Limiter's key: the limit, the endpoint and the address.
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: When the window ends (seconds since the epoch, as the ``limits`` library counts).
    expires_at: Mapped[float] = mapped_column(Float)
