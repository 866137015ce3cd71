"""Attribution: a friend tied to the member whose code they used, the checks run, and conversion started.

A friend is attributed in one of two ways: the store calls
``POST /api/v1/referrals`` (:func:`attribute`, before the friend has
ordered), or the friend's paid order carries a member's code
(:func:`on_paid_order`, called by the earning pipeline). Either way the
fraud checks decide at once (:func:`decide`): reject, flag for a person, or,
when the qualifying order is in, convert (:mod:`loyalty.referrals.review`
takes it from there).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import Member, Order, Program, Referral
from loyalty.programs.members import find_member, normalize_code
from loyalty.referrals import events
from loyalty.referrals.checks import Person, ReferralCase, run_checks
from loyalty.referrals.context import ReferralContext
from loyalty.referrals.reading import referral_of
from loyalty.referrals.review import convert
from loyalty.referrals.terms import Terms, terms_of


def attribute(
    session: Session,
    program: Program,
    *,
    code: str,
    friend_external_id: str,
    friend_email: str | None = None,
    ip: str | None = None,
    registry,
    clock: Clock,
) -> tuple[Referral, bool]:
    """Attribute a friend (the store's customer id) to the member whose code they used.

    Returns ``(referral, created)``. The same friend and code again returns
    the referral unchanged; a friend already referred with another code is
    :class:`~loyalty.errors.AlreadyReferred`. The checks run at once (the
    friend may already be a customer, or an IP may be busy); a rejected
    referral is kept, with its reason, so velocity checks count it.
    """
    context = ReferralContext.of(session, program, registry, clock)
    terms = _terms_or_error(program)
    friend_external_id = (friend_external_id or "").strip()
    if not friend_external_id:
        raise errors.InvalidInput("a referral needs the friend's customer id")
    referrer = _referrer(session, program, code)
    existing = referral_of(session, program, friend_external_id)
    if existing is not None:
        if existing.referrer_id == referrer.id:
            return existing, False
        raise errors.AlreadyReferred(
            f"customer {friend_external_id!r} was already referred (referral {existing.id}); the first referral stands"
        )
    friend = find_member(session, program, friend_external_id)
    if friend is not None:
        context.ledger.hold(friend.id)
    now = context.clock.now()
    referral = Referral(
        program_id=program.id,
        referrer_id=referrer.id,
        code=referrer.referral_code,
        via="api",
        friend_external_id=friend_external_id,
        friend_email=(friend_email or (friend.email if friend else None)),
        friend_member_id=friend.id if friend else None,
        ip=(ip or None),
        status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(referral)
    session.flush()
    decide(context, terms, referral, None)
    return referral, True


def on_paid_order(context: ReferralContext, member: Member, order: Order, event) -> Referral | None:
    """A friend's paid order: attribute it if it carries a code, convert a pending referral.

    Called by the earning pipeline with the friend's accounts held (in ``context.ledger``).
    """
    session, program = context.session, context.program
    if not program.referral_terms:
        return None
    terms = terms_of(program)
    if terms is None:
        return None
    referral = session.scalar(
        select(Referral)
        .where(Referral.program_id == program.id, Referral.friend_external_id == member.external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = context.clock.now()
    if referral is None:
        found = _code_in(session, program, event)
        if found is None:
            return None
        referrer, via = found
        referral = Referral(
            program_id=program.id,
            referrer_id=referrer.id,
            code=referrer.referral_code,
            via=via,
            friend_external_id=member.external_id,
            friend_email=member.email,
            friend_member_id=member.id,
            ip=event.client_ip,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        session.add(referral)
        session.flush()
    elif referral.status != "pending":
        return referral  # decided already: a later order changes nothing
    else:
        referral.friend_member_id = member.id
        referral.ip = referral.ip or event.client_ip
    decide(context, terms, referral, order)
    return referral


def needs_one_by_one(session: Session, program: Program, events: dict[int, object]) -> set[int]:
    """Which paid orders of a worker's batch may touch a referral (they are processed one by one).

    Orders with a referral mark or a discount code that is a member's
    referral code, and orders of customers with a pending referral (a
    query each); nothing when the program has no referral terms.
    """
    if not program.referral_terms or not events:
        return set()
    codes = {i: {normalize_code(code) for code in event.discount_codes} for i, event in events.items()}
    wanted = {code for some in codes.values() for code in some if code and len(code) <= 32}
    members_codes = (
        set(
            session.scalars(
                select(Member.referral_code).where(
                    Member.program_id == program.id, Member.referral_code.in_(list(wanted))
                )
            )
        )
        if wanted
        else set()
    )
    marked = {i for i, event in events.items() if event.referral is not None or codes[i] & members_codes}
    customers = {event.customer.external_id.strip() for i, event in events.items() if i not in marked}
    waiting = (
        set(
            session.scalars(
                select(Referral.friend_external_id).where(
                    Referral.program_id == program.id,
                    Referral.status == "pending",
                    Referral.friend_external_id.in_(list(customers)),
                )
            )
        )
        if customers
        else set()
    )
    return marked | {
        i for i, event in events.items() if i not in marked and event.customer.external_id.strip() in waiting
    }


def decide(context: ReferralContext, terms: Terms, referral: Referral, order: Order | None) -> None:
    """Run the checks; reject, flag, convert, or leave pending."""
    session, program, clock = context.session, context.program, context.clock
    referrer = session.get(Member, referral.referrer_id)
    friend_member = session.get(Member, referral.friend_member_id) if referral.friend_member_id else None
    friend = Person(
        referral.friend_external_id,
        referral.friend_email or (friend_member.email if friend_member else None),
        friend_member.name if friend_member else None,
        referral.friend_member_id,
    )
    case = ReferralCase(session, program, terms, referral, referrer, friend, order, clock.now())
    verdicts = run_checks(context.registry, terms, case)
    rejects = [v for v in verdicts if v.action == "reject"]
    flags = [v for v in verdicts if v.action == "flag"] if referral.decided_by is None else []
    referral.updated_at = clock.now()
    if rejects:
        reason = "; ".join(f"{v.reason} ({v.check})" for v in rejects)
        if order is not None and not terms.first_order_only:
            referral.reason = f"order {order.external_id} did not qualify: {reason}"  # the next order may
        else:
            referral.status, referral.reason = "rejected", reason
            referral.order_id = order.id if order is not None else None
    elif flags:
        referral.status = "flagged"
        referral.reason = "; ".join(f"{v.reason} ({v.check})" for v in flags)
        referral.order_id = order.id if order is not None else None
        session.flush()
        events.flagged(
            session,
            referral,
            referrer_points=terms.referrer_points,
            friend_points=terms.friend_points,
            at=referral.updated_at,
        )
    elif order is not None:
        convert(context, terms, referral, order)
    session.flush()


def _terms_or_error(program: Program) -> Terms:
    terms = terms_of(program)
    if terms is None:
        raise errors.ReferralsDisabled(f"program {program.slug} has no referral terms (loyalty referrals terms)")
    return terms


def _referrer(session: Session, program: Program, code: str) -> Member:
    code = normalize_code(code)
    referrer = (
        session.scalar(select(Member).where(Member.program_id == program.id, Member.referral_code == code))
        if code and len(code) <= 32
        else None
    )
    if referrer is None:
        raise errors.UnknownReferralCode(f"no member of program {program.slug} has the referral code {code!r}")
    return referrer


def _code_in(session: Session, program: Program, event) -> tuple[Member, str] | None:
    """The referrer whose code the order carries: the adapter's mark first, then the discount codes."""
    candidates = []
    if event.referral is not None:
        candidates.append((normalize_code(event.referral.code), event.referral.via))
    candidates += [(normalize_code(code), "discount_code") for code in event.discount_codes]
    candidates = [(code, via) for code, via in candidates if code and len(code) <= 32]
    if not candidates:
        return None
    members = {
        m.referral_code: m
        for m in session.scalars(
            select(Member).where(
                Member.program_id == program.id, Member.referral_code.in_([code for code, _ in candidates])
            )
        )
    }
    for code, via in candidates:
        if code in members:
            return members[code], via
    return None
