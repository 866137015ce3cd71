"""Members: enrol a store's customer in a program, find them again."""

from __future__ import annotations

import re
import secrets
from datetime import date

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.db import insert_many
from loyalty.messages import outbox
from loyalty.models import MEMBER_ACCOUNT_KINDS, Account, Member, Program

#: Deliberately loose: the store already validated the address; this only
#: catches obvious mistakes such as a name typed into the e-mail field.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

#: Referral codes: no 0/O, 1/I/L or U, so a code read aloud or typed at checkout survives.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8


def new_referral_code() -> str:
    """A random referral code: 30^8 (6.6e11) codes, so two members of a program almost never draw the same.

    (If they do, the unique constraint refuses the enrolment and the
    caller's retry draws again: the API retries once, a webhook is retried.)
    """
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """Codes are matched without case or surrounding spaces (stores upper-case discount codes)."""
    return (code or "").strip().upper()


def enrol(
    session: Session,
    program: Program,
    *,
    external_id: str,
    email: str | None = None,
    name: str | None = None,
    birthday: date | None = None,
    existing: str = "error",
    clock: Clock,
) -> tuple[Member, bool]:
    """Enrol a member with their pending and available accounts.

    Returns ``(member, created)``. An external id already enrolled is a
    :class:`~loyalty.errors.DuplicateMember` unless ``existing="return"``,
    which makes enrolment idempotent on the store's customer id. A new
    member's ``member.enrolled`` event is recorded here, whoever enrols
    (a storefront event, the API, the widget, the CLI), and only then.
    """
    values = new_member_values(program, external_id=external_id, email=email, name=name, birthday=birthday)
    found = find_member(session, program, values["external_id"])
    if found is not None:
        if existing == "return":
            return found, False
        raise errors.DuplicateMember(f"member {values['external_id']!r} is already enrolled in {program.slug}")
    member = Member(**values, enrolled_at=clock.now())
    session.add(member)
    session.flush()
    _open_accounts(session, program, [member])
    return member, True


def new_member_values(
    program: Program, *, external_id: str, email: str | None, name: str | None, birthday: date | None
) -> dict:
    """A new member's columns (but ``enrolled_at``), checked: what :func:`enrol` and :func:`enrol_many` insert."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise errors.InvalidInput("a member needs the store's customer id (external id)")
    if len(external_id) > 255:
        raise errors.InvalidInput("the external id is longer than 255 characters")
    if email is not None:
        email = email.strip()
        if not EMAIL.match(email) or len(email) > 320:
            raise errors.InvalidInput(f"invalid e-mail address {email!r}")
    return dict(
        program_id=program.id,
        external_id=external_id,
        email=email,
        name=name.strip() if name else None,
        birthday=birthday,
        status="active",
        referral_code=new_referral_code(),
    )


def enrol_many(session: Session, program: Program, values: list[dict], *, clock: Clock) -> list[Member]:
    """Enrol new customers at once (a worker's batch): their rows, accounts and events in a few statements.

    ``values``: from :func:`new_member_values`, for external ids not
    enrolled yet (a taken one is a unique-constraint error that rolls the
    caller's batch back). The members come back in the order given, each
    as :func:`enrol` would have left them.
    """
    if not values:
        return []
    now = clock.now()
    ids = insert_many(session.connection(), Member.__table__, [{**row, "enrolled_at": now} for row in values])
    loaded = {member.id: member for member in session.scalars(select(Member).where(Member.id.in_(ids)))}
    members = [loaded[id_] for id_ in ids]
    _open_accounts(session, program, members)
    return members


def _open_accounts(session: Session, program: Program, members: list[Member]) -> None:
    """The members' pending and available accounts, and their ``member.enrolled`` events."""
    session.execute(
        insert(Account),
        [
            {
                "program_id": program.id,
                "member_id": member.id,
                "kind": kind,
                "balance": 0,
                "created_at": member.enrolled_at,
            }
            for member in members
            for kind in MEMBER_ACCOUNT_KINDS
        ],
    )
    outbox.record_many(
        session,
        [
            outbox.row(
                program.id,
                "member.enrolled",
                at=member.enrolled_at,
                member_id=member.id,
                data={
                    "enrolled_at": member.enrolled_at.isoformat().replace("+00:00", "Z"),
                    "referral_code": member.referral_code,
                },
            )
            for member in members
        ],
    )


#: A member by the store's id: built once, as every API and widget request about a member starts with it.
MEMBER_BY_EXTERNAL_ID = select(Member).where(
    Member.program_id == bindparam("program_id"), Member.external_id == bindparam("external_id")
)


def find_member(session: Session, program: Program, external_id: str) -> Member | None:
    return session.scalar(MEMBER_BY_EXTERNAL_ID, {"program_id": program.id, "external_id": external_id})


def find_by_code(session: Session, program: Program, code: str) -> Member | None:
    """The member whose referral code this is (any case)."""
    code = normalize_code(code)
    if not code or len(code) > 32:
        return None
    return session.scalar(select(Member).where(Member.program_id == program.id, Member.referral_code == code))


def get_member(session: Session, program: Program, external_id: str) -> Member:
    member = find_member(session, program, external_id)
    if member is None:
        raise errors.UnknownMember(f"no member {external_id!r} in program {program.slug}")
    return member
