"""Admin accounts and the audit log: who may sign in, and what each person changed.

Passwords are hashed with werkzeug's ``generate_password_hash`` (scrypt,
salted); checking one takes the same time whether or not the e-mail exists,
so the sign-in page does not reveal which accounts do.

Sessions end for good: each account has a session token that every session
cookie carries (``AdminUser.get_id``); :func:`end_sessions` replaces it, so
every cookie made before (a copy saved by a thief too) stops working.
Signing out and a password change do that.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import ADMIN_ROLES, AdminUser, AuditEntry, Program
from loyalty.models.admin import new_session_token
from loyalty.programs.members import EMAIL

MIN_PASSWORD = 10


@cache
def _dummy_hash() -> str:
    """Checked against when the e-mail is unknown, so both paths cost one hash check.

    Made on first use, not at import: a scrypt hash takes a tenth of a second, and every command imports this module.
    """
    return generate_password_hash("not a password of anyone")


def create_admin(
    session: Session, *, email: str, password: str, role: str, programs: list[Program] = (), clock: Clock
) -> AdminUser:
    """A new admin account; ``programs`` limits it to those (none: every program)."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise errors.InvalidInput(f"invalid e-mail address {email!r}")
    if role not in ADMIN_ROLES:
        raise errors.InvalidInput(f"invalid role {role!r}: choose one of {', '.join(ADMIN_ROLES)}")
    if session.scalar(select(AdminUser.id).where(AdminUser.email == email)) is not None:
        raise errors.Conflict(f"an admin account {email!r} already exists")
    user = AdminUser(email=email, role=role, active=True, created_at=clock.now())
    set_password(user, password)
    user.programs = list(programs)
    session.add(user)
    session.flush()
    return user


def set_password(user: AdminUser, password: str) -> None:
    """A new password; it ends the account's sessions (whoever knew the old one may have signed in with it)."""
    if len(password or "") < MIN_PASSWORD:
        raise errors.InvalidInput(f"the password must be at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def end_sessions(user: AdminUser) -> None:
    """Every session of the account ends: the cookies carry the old token, which no longer matches."""
    user.session_token = new_session_token()


def change_password(session: Session, email: str, password: str, *, actor: str, clock: Clock) -> AdminUser:
    """Set the password of the account with this e-mail (and so sign it out everywhere), audited as ``actor``."""
    user = session.scalar(select(AdminUser).where(AdminUser.email == (email or "").strip().lower()))
    if user is None:
        raise errors.NotFound(f"no admin account {email!r}")
    set_password(user, password)
    session.add(
        AuditEntry(
            admin_user_id=None,
            actor=actor,
            action="admin.set_password",
            target=f"admin:{user.email}",
            created_at=clock.now(),
        )
    )
    return user


def authenticate(session: Session, email: str, password: str, *, clock: Clock) -> AdminUser | None:
    """The active account with this e-mail and password, or ``None`` (never saying which was wrong)."""
    user = session.scalar(select(AdminUser).where(AdminUser.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = clock.now()
    return user


def audit(
    session: Session,
    user: AdminUser,
    action: str,
    *,
    program: Program | None = None,
    target: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str | None = None,
    clock: Clock,
) -> AuditEntry:
    """Record a change a person made, in the transaction that made it."""
    entry = AuditEntry(
        admin_user_id=user.id,
        actor=user.email,
        program_id=program.id if program else None,
        action=action,
        target=target,
        before=_plain(before),
        after=_plain(after),
        note=note,
        created_at=clock.now(),
    )
    session.add(entry)
    return entry


def _plain(values: dict | None) -> dict | None:
    """JSON-safe copies (dates and amounts as text)."""
    if values is None:
        return None
    return {
        key: value
        if isinstance(value, (str, int, float, bool, type(None), list, dict))
        else (value.isoformat() if isinstance(value, datetime) else str(value))
        for key, value in values.items()
    }
