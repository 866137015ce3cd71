"""``/referrals``: attribute a friend to a member's code; ``/members/<id>/referrals``: a member's referrals."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from loyalty.api import cursors
from loyalty.api.errors import ErrorSchema
from loyalty.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from loyalty.api.idempotency import idempotent
from loyalty.api.resources import resource
from loyalty.api.schemas.referrals import AttributionSchema, ReferralPageArgs, ReferralPageSchema, ReferralSchema
from loyalty.api.v1.members import member_or_404
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import Member, Order, Referral
from loyalty.referrals import attribute, list_referrals
from loyalty.registry import current_registry

blp = resource("referrals", __name__, "Referrals: attribute friends to members' codes, follow them to the reward.")


@blp.route("/referrals", methods=["POST"])
@idempotent(required=False)
@blp.arguments(AttributionSchema)
@blp.doc(operationId="createReferral", parameters=[IDEMPOTENCY_KEY])
@blp.response(201, ReferralSchema, description="Attributed now (its status says what the fraud checks decided).")
@blp.alt_response(200, schema=ReferralSchema, description="This friend was already attributed to this code.")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description="The friend was referred with another code, or the program has no referral terms.",
)
@blp.alt_response(404, schema=ErrorSchema, description="No member of the program has this code.")
def post_referral(data):
    """Attribute a friend (a store customer) to the member whose referral code they used.

    Call it when the friend arrives (a `ref` link, a code typed at sign-up);
    their first qualifying order then converts the referral. Orders that
    carry the code (a discount code, a note attribute, metadata) attribute
    the friend by themselves, without this call.
    """
    friend = data["friend"]
    referral, created = attribute(
        db.session,
        g.program,
        code=data["code"],
        friend_external_id=friend["external_id"],
        friend_email=friend["email"],
        ip=data["ip"],
        clock=current_clock(),
        registry=current_registry(),
    )
    return referral_view(referral), 201 if created else 200


@blp.route("/members/<external_id:external_id>/referrals", methods=["GET"])
@blp.arguments(ReferralPageArgs, location="query")
@blp.doc(operationId="listReferrals")
@blp.response(200, ReferralPageSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
def member_referrals(args, external_id):
    """The friends a member referred, newest first, with each referral's status."""
    member = member_or_404(external_id)
    limit = args["limit"]
    cursor = cursors.decode(args.get("cursor"))
    rows = list_referrals(
        db.session, g.program, status=args.get("status"), referrer=member, limit=limit + 1, before_id=cursor
    )
    page = rows[:limit]
    orders = _order_ids([r.order_id for r in page if r.order_id])
    views = [
        referral_view(referral, referrer=member.external_id, order=orders.get(referral.order_id)) for referral in page
    ]
    db.session.commit()
    return {"data": views, "next_cursor": cursors.next_cursor(rows, limit)}


def _order_ids(ids: list[int]) -> dict[int, str]:
    """The stores' ids of these orders, in one query (a page of referrals names several)."""
    return dict(db.session.execute(select(Order.id, Order.external_id).where(Order.id.in_(ids))).all()) if ids else {}


def referral_view(referral: Referral, *, referrer: str | None = None, order: str | None = None) -> dict:
    if referrer is None:
        referrer = db.session.scalar(select(Member.external_id).where(Member.id == referral.referrer_id))
    if order is None and referral.order_id:
        order = _order_ids([referral.order_id]).get(referral.order_id)
    return {
        "id": referral.id,
        "referrer": referrer,
        "code": referral.code,
        "via": referral.via,
        "friend": {"external_id": referral.friend_external_id, "email": referral.friend_email},
        "status": referral.status,
        "reason": referral.reason,
        "order_id": order,
        "referrer_points": referral.referrer_points,
        "friend_points": referral.friend_points,
        "created_at": referral.created_at,
        "converted_at": referral.converted_at,
        "review_until": referral.review_until,
        "rewarded_at": referral.rewarded_at,
    }
