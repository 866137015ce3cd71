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
from loyalty.validation import Problems

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

    Every setting is checked before any changes, and every problem is
    reported at once, by its field (``details["fields"]``). Whole numbers
    may be given as their digits (a form's text).
    """
    problems = Problems("settings")
    changes = {}
    if name is not None:
        changes["name"] = problems.check("name", _name, name)
    if clawback_policy is not None:
        changes["clawback_policy"] = problems.check("clawback_policy", _clawback, clawback_policy)
    if return_window_days is not None:
        changes["return_window_days"] = problems.check("return_window_days", _window, return_window_days)
    if expiry_policy is not None:
        policy = problems.check("expiry_policy", expiry.known_policy, expiry_policy)
        after = None
        if expiry_after is not None and expiry_after != "":
            after = problems.check("expiry_after", _whole, expiry_after, "the expiry period")
        if policy and "expiry_after" not in problems.fields:
            checked = problems.check("expiry_after", expiry.check, policy, after)
            if checked:
                changes["expiry_policy"], changes["expiry_after"] = checked
    if expiring_notice_days is not None:
        changes["expiring_notice_days"] = problems.check("expiring_notice_days", _notice, expiring_notice_days)
    if timezone is not None:
        changes["timezone"] = problems.check("timezone", check_timezone, timezone)
    problems.raise_any()
    for setting, value in changes.items():
        setattr(program, setting, value)
    session.flush()
    return program


def _name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        raise errors.InvalidInput("a program needs a name of 1 to 200 characters")
    return name.strip()


def _clawback(policy) -> str:
    if policy not in CLAWBACK_POLICIES:
        raise errors.InvalidInput(f"invalid claw-back policy {policy!r}: choose one of {', '.join(CLAWBACK_POLICIES)}")
    return policy


def _whole(value, what: str) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 9:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(f"{what} is a whole number, not {str(value)[:40]!r}")
    return value


def _window(days) -> int:
    days = _whole(days, "the return window")
    _check_window(days)
    return days


def _notice(days) -> int | None:
    days = _whole(days, "the expiry notice")
    if not 0 <= days <= 365:
        raise errors.InvalidInput(f"the expiry notice must be 0 (never) to 365 days, not {days!r}")
    return days or None


def _check_window(days) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
        raise errors.InvalidInput(f"the return window must be 0 to 365 days, not {days!r}")
