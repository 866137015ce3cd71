"""Programs: create one (with its system accounts), find one by slug."""

from __future__ import annotations

import re

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import SYSTEM_ACCOUNT_KINDS, Account, Program
from loyalty.models.program import CLAWBACK_POLICIES
from loyalty.programs import expiry
from loyalty.programs.zones import check_timezone

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


def create_program(
    session: Session,
    *,
    slug: str,
    name: str,
    currency: str,
    clawback_policy: str = "allow_negative",
    return_window_days: int = 0,
    timezone: str = "UTC",
    clock: Clock,
) -> Program:
    """Create a program and the system accounts its points come from and go to."""
    slug = (slug or "").strip()
    if not SLUG.match(slug):
        raise errors.InvalidInput(f"invalid slug {slug!r}: use 1-64 lower-case letters, digits and inner hyphens")
    if not name or not name.strip():
        raise errors.InvalidInput("a program needs a name")
    currency = (currency or "").strip().upper()
    if not CURRENCY.match(currency):
        raise errors.InvalidInput(f"invalid currency {currency!r}: use an ISO 4217 code such as USD")
    if clawback_policy not in CLAWBACK_POLICIES:
        raise errors.InvalidInput(
            f"invalid claw-back policy {clawback_policy!r}: choose one of {', '.join(CLAWBACK_POLICIES)}"
        )
    _check_window(return_window_days)
    check_timezone(timezone)
    if session.scalar(select(Program.id).where(Program.slug == slug)) is not None:
        raise errors.DuplicateProgram(f"a program with slug {slug!r} already exists")
    now = clock.now()
    program = Program(
        slug=slug,
        name=name.strip(),
        currency=currency,
        clawback_policy=clawback_policy,
        return_window_days=return_window_days,
        timezone=timezone,
        created_at=now,
    )
    session.add(program)
    session.flush()
    session.execute(
        insert(Account),
        [{"program_id": program.id, "kind": kind, "balance": 0, "created_at": now} for kind in SYSTEM_ACCOUNT_KINDS],
    )
    return program


def get_program(session: Session, slug: str) -> Program:
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise errors.UnknownProgram(f"no program with slug {slug!r}")
    return program


def list_programs(session: Session) -> list[Program]:
    return list(session.scalars(select(Program).order_by(Program.slug)))


def update_program(
    session: Session,
    program: Program,
    *,
    name: str | None = None,
    clawback_policy: str | None = None,
    return_window_days: int | None = None,
    expiry_policy: str | None = None,
    expiry_after: int | None = None,
    expiring_notice_days: int | None = None,
    timezone: str | None = None,
) -> Program:
    """Change a program's settings (the slug and currency are fixed once points exist).

    A new expiry policy applies to points earned from now on (lots keep the
    date they were given), and ``inactivity`` to every member's balance.
    ``expiring_notice_days``: how many days before their points expire members
    are told (``points.expiring``); 0 tells them never.
    """
    if name is not None:
        if not name.strip():
            raise errors.InvalidInput("a program needs a name")
        program.name = name.strip()
    if clawback_policy is not None:
        if clawback_policy not in CLAWBACK_POLICIES:
            raise errors.InvalidInput(
                f"invalid claw-back policy {clawback_policy!r}: choose one of {', '.join(CLAWBACK_POLICIES)}"
            )
        program.clawback_policy = clawback_policy
    if return_window_days is not None:
        _check_window(return_window_days)
        program.return_window_days = return_window_days
    if expiry_policy is not None:
        program.expiry_policy, program.expiry_after = expiry.check(expiry_policy, expiry_after)
    if expiring_notice_days is not None:
        days = expiring_notice_days
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            raise errors.InvalidInput(f"the expiry notice must be 0 (never) to 365 days, not {days!r}")
        program.expiring_notice_days = days or None
    if timezone is not None:
        program.timezone = check_timezone(timezone)
    session.flush()
    return program


def _check_window(days) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
        raise errors.InvalidInput(f"the return window must be 0 to 365 days, not {days!r}")
