"""Referrals: attribution, conversion, the review period, rewards, decisions by hand.

The life of a referral (statuses in :data:`loyalty.models.REFERRAL_STATUSES`):

* **attributed** when the store calls ``POST /api/v1/referrals`` (status
  ``pending``, waiting for the friend's order), or when a friend's paid
  order carries a member's code (a discount code, or a code the adapter
  found in the order's attributes, metadata or landing page);
* the fraud checks run (:mod:`loyalty.referrals.checks`): a reason that
  rejects ends it (``rejected``); one that flags waits for a person
  (``flagged``: :func:`approve` or :func:`reject`);
* the friend's **qualifying order** converts it (``converted``): the
  review period (the program's return window unless the terms say
  otherwise) starts at the order; the ``referral_converted`` hook fires;
* a refund or cancellation of that order inside the review period cancels
  it (``cancelled``); after the period the ``referrals`` job **rewards**
  it (``rewarded``): the referrer's and the friend's points are posted,
  keyed ``referral:<id>:referrer`` / ``:friend`` so they post once, and
  the referrer's points only while under the monthly cap; a catalog reward
  for the friend is given as a redemption for no points.

Locks: the friend's accounts first (the earning pipeline already holds
them when an order arrives), then the referral row, then the referrer's
accounts, so the pipeline and the job queue up rather than deadlock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.clock import Clock, current_clock
from loyalty.db import is_id
from loyalty.programs.expiry import lot_expiry
from loyalty.ledger import Ledger
from loyalty.programs.members import find_member, normalize_code
from loyalty.models import Member, Order, Program, Referral
from loyalty.referrals.checks import Person, ReferralCase, run_checks
from loyalty.referrals.terms import Terms, review_days, stored_terms, terms_of
from loyalty.rewards.redeem import give

#: Statuses in which something can still happen to a referral.
OPEN = ("pending", "flagged", "converted")


# --- attribution -------------------------------------------------------------


def attribute(
    session: Session, program: Program, *, code: str, friend_external_id: str, friend_email: str | None = None,
    ip: str | None = None, registry=None, clock: Clock | None = None,
) -> tuple[Referral, bool]:
    """Attribute a friend (the store's customer id) to the member whose code they used.

    Returns ``(referral, created)``. The same friend and code again returns
    the referral unchanged; a friend already referred with another code is
    :class:`~loyalty.errors.AlreadyReferred`. The checks run at once (the
    friend may already be a customer, or an IP may be busy); a rejected
    referral is kept, with its reason, so velocity checks count it.
    """
    from loyalty.registry import current_registry

    registry = registry or current_registry()
    clock = clock or current_clock()
    terms = _terms_or_error(program)
    friend_external_id = (friend_external_id or "").strip()
    if not friend_external_id:
        raise errors.InvalidInput("a referral needs the friend's customer id")
    referrer = _referrer(session, program, code)
    existing = _referral_of(session, program, friend_external_id)
    if existing is not None:
        if existing.referrer_id == referrer.id:
            return existing, False
        raise errors.AlreadyReferred(
            f"customer {friend_external_id!r} was already referred (referral {existing.id}); the first referral stands")
    friend = find_member(session, program, friend_external_id)
    if friend is not None:
        Ledger(session, clock).hold(friend.id)
    now = clock.now()
    referral = Referral(
        program_id=program.id, referrer_id=referrer.id, code=referrer.referral_code, via="api",
        friend_external_id=friend_external_id, friend_email=(friend_email or (friend.email if friend else None)),
        friend_member_id=friend.id if friend else None, ip=(ip or None), status="pending",
        created_at=now, updated_at=now,
    )
    session.add(referral)
    session.flush()
    _decide(session, program, terms, referral, None, registry=registry, clock=clock)
    return referral, True


def on_paid_order(pipeline, member: Member, order: Order, event) -> Referral | None:
    """A friend's paid order: attribute it if it carries a code, convert a pending referral.

    Called by the earning pipeline with the friend's accounts held.
    """
    session, program = pipeline.session, pipeline.program
    if not program.referral_terms:
        return None
    terms = terms_of(program)
    if terms is None:
        return None
    referral = session.scalar(
        select(Referral).where(Referral.program_id == program.id, Referral.friend_external_id == member.external_id)
        .with_for_update().execution_options(populate_existing=True)
    )
    now = pipeline.clock.now()
    if referral is None:
        found = _code_in(session, program, event)
        if found is None:
            return None
        referrer, via = found
        referral = Referral(
            program_id=program.id, referrer_id=referrer.id, code=referrer.referral_code, via=via,
            friend_external_id=member.external_id, friend_email=member.email, friend_member_id=member.id,
            ip=event.client_ip, status="pending", created_at=now, updated_at=now,
        )
        session.add(referral)
        session.flush()
    elif referral.status != "pending":
        return referral  # decided already: a later order changes nothing
    else:
        referral.friend_member_id = member.id
        referral.ip = referral.ip or event.client_ip
    _decide(session, program, terms, referral, order, registry=pipeline.registry, clock=pipeline.clock,
            ledger=pipeline.ledger)
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
    members_codes = set(session.scalars(select(Member.referral_code).where(
        Member.program_id == program.id, Member.referral_code.in_(list(wanted))))) if wanted else set()
    marked = {i for i, event in events.items() if event.referral is not None or codes[i] & members_codes}
    customers = {event.customer.external_id.strip(): i for i, event in events.items() if i not in marked}
    waiting = set(session.scalars(select(Referral.friend_external_id).where(
        Referral.program_id == program.id, Referral.status == "pending",
        Referral.friend_external_id.in_(list(customers)),
    ))) if customers else set()
    return marked | {i for customer, i in customers.items() if customer in waiting}


# --- the review period -----------------------------------------------------


def on_order_changed(pipeline, order: Order, when: datetime) -> Referral | None:
    """A refund or cancellation: cancel the referral it qualified, if still under review.

    Cancelled when the order is cancelled or fully refunded, or refunds
    took it below the minimum. After the review period the referral stands.
    """
    session, program = pipeline.session, pipeline.program
    if not program.referral_terms or order.member_id is None:
        return None
    referral = session.scalar(
        select(Referral).where(Referral.order_id == order.id, Referral.status.in_(("converted", "flagged")))
        .with_for_update().execution_options(populate_existing=True)
    )
    if referral is None:
        return None
    if referral.status == "converted" and referral.review_until is not None and when > referral.review_until:
        return None
    terms = stored_terms(program)
    left = order.subtotal_minor - order.discount_minor - order.refunded_minor
    if order.status == "cancelled":
        reason = f"order {order.external_id} was cancelled during the review period"
    elif order.status == "refunded":
        reason = f"order {order.external_id} was refunded during the review period"
    elif left < money.to_minor(terms.min_order, order.currency):
        reason = (f"refunds during the review period took order {order.external_id} below the minimum of "
                  f"{terms.min_order} {order.currency}")
    else:
        return None
    referral.status, referral.reason, referral.updated_at = "cancelled", reason, pipeline.clock.now()
    session.flush()
    return referral


def reward_due(session: Session, program: Program, *, registry=None, clock: Clock | None = None,
               limit: int = 200) -> list[Referral]:
    """Reward up to ``limit`` converted referrals whose review period has ended (the ``referrals`` job)."""
    from loyalty.registry import current_registry

    registry = registry or current_registry()
    clock = clock or current_clock()
    ledger = Ledger(session, clock)
    due = session.execute(
        select(Referral.id, Referral.friend_member_id, Referral.referrer_id)
        .where(Referral.program_id == program.id, Referral.status == "converted",
               Referral.review_until <= clock.now())
        .order_by(Referral.review_until, Referral.id).limit(limit)
    ).all()
    rewarded = []
    for row in due:
        ledger.hold(row.friend_member_id)  # the friend first, as when an order arrives
        referral = _locked(session, row.id)
        if referral.status == "converted" and referral.review_until <= clock.now():
            _reward(session, program, referral, ledger=ledger, registry=registry, clock=clock)
            rewarded.append(referral)
    return rewarded


# --- decisions by hand --------------------------------------------------------


def approve(session: Session, program: Program, referral_id: int, *, actor: str, registry=None,
            clock: Clock | None = None) -> Referral:
    """A person clears a flagged referral: it converts (its order is in) or waits for the order.

    Flags do not come back for it; a check that rejects still does.
    """
    from loyalty.registry import current_registry

    registry = registry or current_registry()
    clock = clock or current_clock()
    referral = get_referral(session, program, referral_id)
    if referral.friend_member_id is not None:
        Ledger(session, clock).hold(referral.friend_member_id)
    referral = _locked(session, referral.id)
    if referral.status != "flagged":
        raise errors.ReferralNotOpen(f"referral {referral.id} is {referral.status}, not flagged")
    referral.decided_by = actor
    referral.reason = f"approved by {actor} (flagged: {referral.reason})"
    order = session.get(Order, referral.order_id) if referral.order_id else None
    if order is None:
        referral.status, referral.updated_at = "pending", clock.now()
    elif order.status in ("cancelled", "refunded"):
        referral.status, referral.updated_at = "cancelled", clock.now()
        referral.reason = f"order {order.external_id} is {order.status}"
    else:
        _convert(session, program, stored_terms(program), referral, order, registry=registry, clock=clock)
    session.flush()
    return referral


def reject(session: Session, program: Program, referral_id: int, *, reason: str, actor: str,
           clock: Clock | None = None) -> Referral:
    """A person refuses a referral that is not rewarded yet (with a reason, kept on the referral)."""
    clock = clock or current_clock()
    if not (reason or "").strip():
        raise errors.InvalidInput("rejecting a referral needs a reason")
    referral = _locked(session, get_referral(session, program, referral_id).id)
    if referral.status not in OPEN:
        raise errors.ReferralNotOpen(f"referral {referral.id} is {referral.status}; only open referrals can be rejected")
    referral.status, referral.reason, referral.decided_by = "rejected", reason.strip(), actor
    referral.updated_at = clock.now()
    session.flush()
    return referral


# --- reading ---------------------------------------------------------------


def get_referral(session: Session, program: Program, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id) if is_id(referral_id) else None
    if referral is None or referral.program_id != program.id:
        raise errors.UnknownReferral(f"no referral {referral_id} in program {program.slug}")
    return referral


def list_referrals(session: Session, program: Program, *, status: str | None = None,
                   referrer: Member | None = None, limit: int = 50, before_id: int | None = None) -> list[Referral]:
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
    return _referral_of(session, member.program_id, member.external_id)


# --- inside ----------------------------------------------------------------


def _terms_or_error(program: Program) -> Terms:
    terms = terms_of(program)
    if terms is None:
        raise errors.ReferralsDisabled(f"program {program.slug} has no referral terms (loyalty referrals terms)")
    return terms


def _referrer(session: Session, program: Program, code: str) -> Member:
    code = normalize_code(code)
    referrer = session.scalar(select(Member).where(Member.program_id == program.id, Member.referral_code == code)) \
        if code and len(code) <= 32 else None
    if referrer is None:
        raise errors.UnknownReferralCode(f"no member of program {program.slug} has the referral code {code!r}")
    return referrer


def _referral_of(session: Session, program: Program | int, friend_external_id: str) -> Referral | None:
    program_id = program if isinstance(program, int) else program.id
    return session.scalar(select(Referral).where(
        Referral.program_id == program_id, Referral.friend_external_id == friend_external_id))


def _locked(session: Session, referral_id: int) -> Referral:
    return session.scalar(select(Referral).where(Referral.id == referral_id).with_for_update()
                          .execution_options(populate_existing=True))


def _code_in(session: Session, program: Program, event) -> tuple[Member, str] | None:
    """The referrer whose code the order carries: the adapter's mark first, then the discount codes."""
    candidates = []
    if event.referral is not None:
        candidates.append((normalize_code(event.referral.code), event.referral.via))
    candidates += [(normalize_code(code), "discount_code") for code in event.discount_codes]
    candidates = [(code, via) for code, via in candidates if code and len(code) <= 32]
    if not candidates:
        return None
    members = {m.referral_code: m for m in session.scalars(select(Member).where(
        Member.program_id == program.id, Member.referral_code.in_([code for code, _ in candidates])))}
    for code, via in candidates:
        if code in members:
            return members[code], via
    return None


def _decide(session, program, terms: Terms, referral: Referral, order: Order | None, *, registry, clock,
            ledger: Ledger | None = None) -> None:
    """Run the checks; reject, flag, convert, or leave pending."""
    referrer = session.get(Member, referral.referrer_id)
    friend_member = session.get(Member, referral.friend_member_id) if referral.friend_member_id else None
    friend = Person(referral.friend_external_id, referral.friend_email or (friend_member.email if friend_member else None),
                    friend_member.name if friend_member else None, referral.friend_member_id)
    case = ReferralCase(session, program, terms, referral, referrer, friend, order, clock.now())
    verdicts = run_checks(registry, terms, case)
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
    elif order is not None:
        _convert(session, program, terms, referral, order, registry=registry, clock=clock, ledger=ledger)
    session.flush()


def _convert(session, program, terms: Terms, referral: Referral, order: Order, *, registry, clock,
             ledger: Ledger | None = None) -> None:
    paid_at = order.paid_at or clock.now()
    referral.status, referral.order_id = "converted", order.id
    referral.converted_at, referral.review_until = paid_at, paid_at + timedelta(days=review_days(program, terms))
    referral.referrer_points, referral.friend_points = terms.referrer_points, terms.friend_points
    referral.friend_reward_id = terms.friend_reward
    referral.updated_at = clock.now()
    session.flush()
    registry.referral_converted(program=program, referral=referral)
    if referral.review_until <= clock.now():
        _reward(session, program, referral, ledger=ledger or Ledger(session, clock), registry=registry, clock=clock)


def _reward(session, program, referral: Referral, *, ledger: Ledger, registry, clock) -> None:
    """Post both sides' points (the friend's accounts are held by the caller)."""
    from loyalty.tiers.levels import upgrade_on_event

    now = clock.now()
    ledger.hold(referral.referrer_id)
    notes, credited = [], []
    referrer = session.get(Member, referral.referrer_id)
    friend = session.get(Member, referral.friend_member_id)
    if referral.referrer_points:
        if referrer.status != "active":
            notes.append(f"the referrer is {referrer.status}: no referrer points")
            referral.referrer_points = 0
        elif _over_cap(session, program, referral, now):
            notes.append(f"the referrer reached the cap of {stored_terms(program).monthly_cap} rewarded referrals "
                         f"this month: no referrer points")
            referral.referrer_points = 0
        else:
            referral.referrer_entry_id = _post(ledger, program, registry, referral, referrer, "referrer",
                                               referral.referrer_points, f"Referred {referral.friend_external_id}", now)
            credited.append(referrer.id)
    if referral.friend_points:
        if friend is None or friend.status != "active":
            notes.append("the friend is not an active member: no friend points")
            referral.friend_points = 0
        else:
            referral.friend_entry_id = _post(ledger, program, registry, referral, friend, "friend",
                                             referral.friend_points, f"Welcome: referred by {referrer.external_id}", now)
            credited.append(friend.id)
    if referral.friend_reward_id is not None:
        if friend is None or friend.status != "active":
            notes.append("the friend is not an active member: no welcome reward")
        else:
            gift = give(session, program, friend, referral.friend_reward_id, key=f"referral:{referral.id}:friend",
                        source=f"referral:{referral.id}", actor="referrals", registry=registry, clock=clock)
            if gift.status == "failed":
                notes.append(f"the friend's welcome reward could not be issued: {gift.reason}")
            else:
                referral.friend_redemption_id = gift.id
    referral.status, referral.rewarded_at, referral.updated_at = "rewarded", now, now
    if notes:
        referral.reason = "; ".join(notes)
    session.flush()
    if credited:
        upgrade_on_event(session, program, credited, registry=registry, clock=clock)


def _post(ledger, program, registry, referral, member, side, points, reason, now) -> int:
    posting = ledger.earn(
        member, points, key=f"referral:{referral.id}:{side}", expires_at=lot_expiry(program, now),
        reason=reason, actor="referrals", source=("referral", str(referral.id)),
    )
    if not posting.replayed:
        registry.points_posted(program=program, member=member, posting=posting,
                               cause={"type": "referral", "referral_id": referral.id, "side": side})
    return posting.entry_id


def _over_cap(session, program, referral: Referral, now: datetime) -> bool:
    cap = stored_terms(program).monthly_cap
    if cap is None:
        return False
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded = session.scalar(select(func.count()).select_from(Referral).where(
        Referral.referrer_id == referral.referrer_id, Referral.referrer_entry_id.is_not(None),
        Referral.rewarded_at >= month, Referral.id != referral.id,
    ))
    return rewarded >= cap
