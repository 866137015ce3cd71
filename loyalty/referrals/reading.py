"""Reading referrals: one by id, a program's list, the referral that brought a member, a row locked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.db import is_id
from loyalty.models import Member, Program, Referral


def get_referral(session: Session, program: Program, referral_id: int) -> Referral:
    """The program's referral ``referral_id``, or :class:`~loyalty.errors.UnknownReferral` (another program's too)."""
    referral = session.get(Referral, referral_id) if is_id(referral_id) else None
    if referral is None or referral.program_id != program.id:
        raise errors.UnknownReferral(f"no referral {referral_id} in program {program.slug}")
    return referral


def list_referrals(
    session: Session,
    program: Program,
    *,
    status: str | None = None,
    referrer: Member | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Referral]:
    """Newest first; filtered by status or referrer; ``before_id`` pages."""
    query = select(Referral).where(Referral.program_id == program.id)
    if status:
        query = query.where(Referral.status == status)
    if referrer is not None:
        query = query.where(Referral.referrer_id == referrer.id)
    if before_id is not None:
        query = query.where(Referral.id < before_id)
    return list(session.scalars(query.order_by(Referral.id.desc()).limit(limit)))


def referred_by(session: Session, member: Member) -> Referral | None:
    """The referral that brought this member, if any."""
    return referral_of(session, member.program_id, member.external_id)


def referral_of(session: Session, program: Program | int, friend_external_id: str) -> Referral | None:
    """The referral of a friend (the store's customer id): a friend is referred once per program."""
    program_id = program if isinstance(program, int) else program.id
    return session.scalar(
        select(Referral).where(Referral.program_id == program_id, Referral.friend_external_id == friend_external_id)
    )


def locked(session: Session, referral_id: int) -> Referral:
    """The referral row locked and read again (see the lock order in :mod:`loyalty.referrals`)."""
    return session.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update().execution_options(populate_existing=True)
    )
