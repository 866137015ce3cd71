"""Programs and members: creation, the system accounts, and refused input."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty import errors
from loyalty.models import Account, Member, Program
from loyalty.programs.members import enrol, get_member
from loyalty.programs.program import create_program, get_program
from tests.helpers import snapshot


def test_a_program_gets_its_system_accounts(session, program):
    kinds = session.scalars(
        select(Account.kind).where(Account.program_id == program.id, Account.member_id.is_(None))
    ).all()
    assert sorted(kinds) == ["adjustments", "expired", "issued", "redeemed"]


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"slug": "acme"}, errors.DuplicateProgram),
        ({"slug": "Bad Slug"}, errors.InvalidInput),
        ({"slug": "-x"}, errors.InvalidInput),
        ({"currency": "dollars"}, errors.InvalidInput),
        ({"name": " "}, errors.InvalidInput),
        ({"clawback_policy": "sometimes"}, errors.InvalidInput),
    ],
)
def test_bad_programs_are_refused(session, program, clock, fields, error):
    args = {"slug": "shop2", "name": "Shop", "currency": "EUR", **fields}
    before = session.scalar(select(Program.id).order_by(Program.id.desc()))
    with pytest.raises(error):
        create_program(session, clock=clock, **args)
    session.rollback()
    assert session.scalar(select(Program.id).order_by(Program.id.desc())) == before


def test_currency_is_normalised(session, clock):
    assert create_program(session, slug="eu", name="EU", currency="eur", clock=clock).currency == "EUR"
    session.commit()


def test_a_member_gets_pending_and_available_accounts(session, member):
    kinds = session.scalars(select(Account.kind).where(Account.member_id == member.id)).all()
    assert sorted(kinds) == ["available", "pending"]


def test_enrolment_is_unique_per_program(session, program, member, clock):
    before = snapshot(session)
    with pytest.raises(errors.DuplicateMember):
        enrol(session, program, external_id="c-1", clock=clock)
    assert snapshot(session) == before
    again, created = enrol(session, program, external_id="c-1", existing="return", clock=clock)
    assert again.id == member.id and not created
    other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
    elsewhere, created = enrol(session, other, external_id="c-1", clock=clock)
    session.commit()
    assert created and elsewhere.id != member.id


@pytest.mark.parametrize("fields", [{"external_id": " "}, {"external_id": "x" * 256}, {"email": "not-an-email"}])
def test_bad_members_are_refused(session, program, fields, clock):
    args = {"external_id": "c-2", **fields}
    with pytest.raises(errors.InvalidInput):
        enrol(session, program, clock=clock, **args)
    session.rollback()
    assert session.scalar(select(Member.id).where(Member.external_id == "c-2")) is None


def test_lookups_name_what_is_missing(session, program):
    with pytest.raises(errors.UnknownProgram, match="nope"):
        get_program(session, "nope")
    with pytest.raises(errors.UnknownMember, match="ghost"):
        get_member(session, program, "ghost")


def test_the_database_refuses_cross_program_transfers(session, program, member, clock, is_postgres):
    """The composite foreign keys hold even if code forgets to check."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from loyalty.models import Entry, Transfer

    other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
    session.flush()
    entry_id = session.execute(
        insert(Entry)
        .values(
            program_id=program.id,
            member_id=member.id,
            kind="earn",
            amount=5,
            idempotency_key="k",
            request_hash="h",
            created_at=clock.now(),
        )
        .returning(Entry.id)
    ).scalar_one()
    foreign = session.scalar(select(Account.id).where(Account.program_id == other.id, Account.kind == "issued"))
    mine = session.scalar(select(Account.id).where(Account.member_id == member.id, Account.kind == "available"))
    with pytest.raises(IntegrityError):
        session.execute(
            insert(Transfer).values(
                program_id=program.id,
                entry_id=entry_id,
                from_account_id=foreign,
                to_account_id=mine,
                amount=5,
                created_at=clock.now(),
            )
        )
        session.flush()
    session.rollback()


@pytest.mark.parametrize("amount", [0, -1])
def test_the_database_refuses_non_positive_amounts(session, program, member, clock, amount):
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from loyalty.models import Entry

    with pytest.raises(IntegrityError):
        session.execute(
            insert(Entry).values(
                program_id=program.id,
                member_id=member.id,
                kind="earn",
                amount=amount,
                idempotency_key="k",
                request_hash="h",
                created_at=clock.now(),
            )
        )
    session.rollback()
