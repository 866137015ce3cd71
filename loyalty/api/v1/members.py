"""``/members``: enrol, read a member with balances and tier, history, adjustments."""

from __future__ import annotations

from flask import g

from loyalty import errors
from loyalty.api import cursors
from loyalty.api.auth import actor
from loyalty.api.errors import ErrorSchema
from loyalty.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from loyalty.api.idempotency import idempotent, key_from_request
from loyalty.api.resources import resource
from loyalty.api.schemas.members import AdjustmentSchema, EnrolSchema, MemberSchema, MemberUpdateSchema, PostingSchema
from loyalty.api.schemas.transactions import TransactionPageArgs, TransactionPageSchema
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.events import Customer
from loyalty.earning.pipeline import enrol
from loyalty.ledger import Ledger, scoped_key
from loyalty.ledger.history import lifetime_earned, member_history
from loyalty.messages.subscriptions import set_subscribed, subscribed
from loyalty.models import Member
from loyalty.programs.members import find_member
from loyalty.referrals import link_for
from loyalty.registry import current_registry
from loyalty.tiers.levels import list_tiers
from loyalty.tiers.progress import progress

blp = resource("members", __name__, "Members: enrolment, balances, history and adjustments.")


def member_or_404(external_id: str) -> Member:
    """The program's member with this external id; another program's is as unknown as no member."""
    member = find_member(db.session, g.program, external_id) if "\x00" not in external_id else None
    if member is None:
        raise errors.UnknownMember(f"no member {external_id!r}")
    return member


def member_view(member: Member) -> dict:
    """The member as the API (and the widget's ``/me``) shows them.

    The program's tiers are listed once, for the member's tier and their progress.
    """
    tiers = list_tiers(db.session, g.program) if member.tier_id or g.program.tier_scheme else []
    tier = next((tier for tier in tiers if tier.id == member.tier_id), None)
    tier_progress = progress(
        db.session, g.program, member, clock=current_clock(), registry=current_registry(), tiers=tiers
    )
    balances = Ledger(db.session).balances(member.id)
    return {
        "external_id": member.external_id,
        "email": member.email,
        "name": member.name,
        "birthday": member.birthday,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "tier": {"name": tier.name, "rank": tier.rank, "earn_multiplier": tier.earn_multiplier, "perks": tier.perks}
        if tier
        else None,
        "tier_progress": tier_progress,
        "balances": _balances(member, balances),
        "referral_code": member.referral_code,
        "referral_link": link_for(g.program, member.referral_code),
        "subscribed": subscribed(member),
    }


def _balances(member: Member, balances: dict) -> dict:
    return {
        "available": balances["available"],
        "pending": balances["pending"],
        "lifetime_earned": lifetime_earned(db.session, member.id),
    }


@blp.route("/members", methods=["POST"])
@idempotent(required=False)
@blp.arguments(EnrolSchema)
@blp.doc(operationId="enrolMember", parameters=[IDEMPOTENCY_KEY])
@blp.response(201, MemberSchema, description="Enrolled now.")
@blp.alt_response(200, schema=MemberSchema, description="Already a member: the member as they are.")
def enrol_member(data):
    """Enrol a customer (idempotent on external_id).

    A new member gets the program's sign-up rules (e.g. welcome points);
    enrolling an external id again returns the member, unchanged, with 200.
    """
    member, created = enrol(
        db.session,
        g.program,
        Customer(data["external_id"].strip(), data["email"], data["name"], data["birthday"]),
        clock=current_clock(),
        registry=current_registry(),
    )
    return member_view(member), 201 if created else 200


@blp.route("/members/<member:external_id>", methods=["GET"])
@blp.doc(operationId="getMember")
@blp.response(200, MemberSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
def get_member(external_id):
    """A member: profile, tier, and balances (available, pending, lifetime earned)."""
    view = member_view(member_or_404(external_id))
    db.session.commit()  # the key's last-used time
    return view


@blp.route("/members/<member:external_id>", methods=["PATCH"])
@blp.arguments(MemberUpdateSchema)
@blp.doc(operationId="updateMember")
@blp.response(200, MemberSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
def update_member(data, external_id):
    """Change what the member chose: ``subscribed`` (false opts them out of e-mails and other messages).

    Opting out is kept with its time; opting out again changes nothing.
    """
    member = member_or_404(external_id)
    set_subscribed(member, data["subscribed"], at=current_clock().now())
    view = member_view(member)
    db.session.commit()
    return view


@blp.route("/members/<external_id:external_id>/transactions", methods=["GET"])
@blp.arguments(TransactionPageArgs, location="query")
@blp.doc(operationId="listTransactions")
@blp.response(200, TransactionPageSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
def list_transactions(args, external_id):
    """The member's ledger entries, newest first, a page at a time.

    Pages follow entry ids (``next_cursor``), so entries posted while a
    client pages through never shift or repeat what it has not read yet.
    """
    member = member_or_404(external_id)
    limit = args["limit"]
    lines = member_history(db.session, member.id, limit=limit + 1, before_id=cursors.decode(args.get("cursor")))
    page = lines[:limit]
    db.session.commit()
    return {
        "data": [
            {
                "id": line.entry_id,
                "created_at": line.created_at,
                "kind": line.kind,
                "available": line.available,
                "pending": line.pending,
                "shortfall": line.shortfall,
                "reason": line.reason,
                "actor": line.actor,
                "reverses_id": line.reverses_id,
            }
            for line in page
        ],
        "next_cursor": cursors.next_cursor(lines, limit, lambda line: line.entry_id),
    }


@blp.route("/members/<external_id:external_id>/adjustments", methods=["POST"])
@idempotent(required=True)
@blp.arguments(AdjustmentSchema)
@blp.doc(operationId="createAdjustment", parameters=[{**IDEMPOTENCY_KEY, "required": True}])
@blp.response(201, PostingSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="Not enough points, the member is not active, or the key was used for another request.",
)
def adjust(data, external_id):
    """Credit or debit points by hand, with a reason (recorded with the API key's name)."""
    member = member_or_404(external_id)
    ledger = Ledger(db.session, current_clock())
    posting = ledger.adjust(
        member,
        data["points"],
        key=scoped_key("api:", key_from_request(required=True)),
        reason=data["reason"].strip(),
        actor=actor(),
        expires_at=data["expires_at"],
    )
    return {
        "entry_id": posting.entry_id,
        "kind": posting.kind,
        "points": posting.amount if data["points"] > 0 else -posting.amount,
        "shortfall": posting.shortfall,
        "balances": _balances(member, ledger.balances(member.id)),
    }, 201
