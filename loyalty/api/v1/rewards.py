"""``/rewards`` (the catalog), ``/members/<id>/redemptions`` (redeem, list, cancel), ``/codes/<code>`` (check a code)."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from loyalty import errors, money
from loyalty.api import cursors
from loyalty.api.auth import actor
from loyalty.api.errors import ErrorSchema
from loyalty.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from loyalty.api.idempotency import idempotent, key_from_request
from loyalty.api.resources import resource
from loyalty.api.schemas.rewards import (
    CodeSchema,
    RedeemSchema,
    RedemptionPageArgs,
    RedemptionPageSchema,
    RedemptionSchema,
    RewardListArgs,
    RewardSchema,
)
from loyalty.api.v1.members import member_or_404
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import Member, Redemption, Reward, Tier
from loyalty.programs.members import find_member
from loyalty.registry import current_registry
from loyalty.rewards import cancel, find_code, list_rewards, redeem, redemptions_of, unavailable

blp = resource("rewards", __name__, "The reward catalog, members' redemptions, and reward codes.")


@blp.route("/rewards", methods=["GET"])
@blp.arguments(RewardListArgs, location="query")
@blp.doc(operationId="listRewards")
@blp.response(200, RewardSchema(many=True))
def catalog(args):
    """The program's active rewards, cheapest first, and whether each can be redeemed now."""
    member = None
    if args.get("member") is not None:
        member = find_member(db.session, g.program, args["member"]) if "\x00" not in args["member"] else None
        if member is None:
            raise errors.UnknownMember(f"no member {args['member']!r}")
    now = current_clock().now()
    views = [
        reward_view(reward, unavailable(db.session, reward, member, now))
        for reward in list_rewards(db.session, g.program, active_only=True)
    ]
    db.session.commit()
    return views


@blp.route("/members/<external_id:external_id>/redemptions", methods=["POST"])
@idempotent(required=True)
@blp.arguments(RedeemSchema)
@blp.doc(operationId="createRedemption", parameters=[{**IDEMPOTENCY_KEY, "required": True}])
@blp.response(201, RedemptionSchema, description="Issued: the points are spent.")
@blp.alt_response(404, schema=ErrorSchema, description="No such member or reward in this program.")
@blp.alt_response(
    409,
    schema=ErrorSchema,
    description=(
        "Not enough points, the reward is unavailable to this member (paused, dates, tier, stock, limit), the member "
        "is not active, or the key was used for another request."
    ),
)
@blp.alt_response(
    502,
    schema=RedemptionSchema,
    description=(
        "The reward could not be issued (e.g. Stripe refused or could not be reached): the failed redemption, with "
        "its reason. No points were spent; the same key answers the same again, a new key tries again."
    ),
)
def redeem_reward(data, external_id):
    """Spend points on a reward: the points are spent and the reward issued as one step (Idempotency-Key required)."""
    member = member_or_404(external_id)
    redemption = redeem(
        db.session,
        g.program,
        member,
        data["reward_id"],
        key=key_from_request(required=True),
        points=data["points"],
        actor=actor(),
        clock=current_clock(),
        registry=current_registry(),
    )
    if redemption.status == "failed":
        return redemption_view(redemption), 502
    return redemption_view(redemption), 201


@blp.route("/members/<external_id:external_id>/redemptions", methods=["GET"])
@blp.arguments(RedemptionPageArgs, location="query")
@blp.doc(operationId="listRedemptions")
@blp.response(200, RedemptionPageSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such member in this program.")
def member_redemptions(args, external_id):
    """A member's redemptions and their codes, newest first."""
    member = member_or_404(external_id)
    limit = args["limit"]
    rows = redemptions_of(
        db.session,
        member,
        limit=limit + 1,
        status=args.get("status"),
        before_id=cursors.decode(args.get("cursor")),
    )
    page = rows[:limit]
    names = (
        dict(db.session.execute(select(Reward.id, Reward.name).where(Reward.id.in_({r.reward_id for r in page}))).all())
        if page
        else {}
    )
    views = [redemption_view(r, reward=names.get(r.reward_id)) for r in page]
    db.session.commit()
    return {"data": views, "next_cursor": cursors.next_cursor(rows, limit)}


@blp.route("/members/<external_id:external_id>/redemptions/<int:redemption_id>/cancel", methods=["POST"])
@idempotent(required=False)
@blp.doc(operationId="cancelRedemption", parameters=[IDEMPOTENCY_KEY])
@blp.response(200, RedemptionSchema, description="Cancelled: the points are back.")
@blp.alt_response(404, schema=ErrorSchema, description="No such member or redemption.")
@blp.alt_response(409, schema=ErrorSchema, description="Used, cancelled or failed already; or the provider refused.")
def cancel_redemption(external_id, redemption_id):
    """Cancel an issued, unused redemption: the code is withdrawn and the points return."""
    member = member_or_404(external_id)
    redemption = cancel(
        db.session, g.program, member, redemption_id, actor=actor(), clock=current_clock(), registry=current_registry()
    )
    return redemption_view(redemption)


@blp.route("/codes/<code>", methods=["GET"])
@blp.doc(operationId="getCode")
@blp.response(200, CodeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No reward code like this in the program.")
def check_code(code):
    """Look a reward code up at checkout: what it is worth, whose it is, whether to honour it."""
    redemption = find_code(db.session, g.program, code) if "\x00" not in code else None
    if redemption is None:
        raise errors.NotFound(f"no reward code {code!r}")
    view = redemption_view(redemption)
    view["member"] = db.session.scalar(select(Member.external_id).where(Member.id == redemption.member_id))
    now = current_clock().now()
    view["valid"] = redemption.status == "issued" and (redemption.expires_at is None or redemption.expires_at > now)
    db.session.commit()
    return view


def reward_view(reward: Reward, reason: str | None) -> dict:
    kind = current_registry().reward_types.get(reward.type)
    tier = db.session.get(Tier, reward.min_tier_id) if reward.min_tier_id else None
    return {
        "id": reward.id,
        "name": reward.name,
        "description": reward.description,
        "type": reward.type,
        "summary": kind.describe(reward.config, g.program.currency) if kind else reward.type,
        "pricing": reward.pricing,
        "points": reward.points,
        "step_value": _money(reward.step_value, g.program.currency),
        "min_points": reward.min_points,
        "max_points": reward.max_points,
        "starts_at": reward.starts_at,
        "ends_at": reward.ends_at,
        "min_tier": tier.name if tier else None,
        "stock_left": reward.stock - reward.issued_count if reward.stock is not None else None,
        "limit_per_member": reward.limit_per_member,
        "available": reason is None,
        "unavailable_reason": reason,
    }


def redemption_view(redemption: Redemption, *, reward: str | None = None) -> dict:
    name = reward or db.session.scalar(select(Reward.name).where(Reward.id == redemption.reward_id))
    return {
        "id": redemption.id,
        "reward_id": redemption.reward_id,
        "reward": name,
        "status": redemption.status,
        "points": redemption.points,
        "value": _money(redemption.value, redemption.currency),
        "currency": redemption.currency,
        "code": redemption.code,
        "details": redemption.details or {},
        "reason": redemption.reason,
        "expires_at": redemption.expires_at,
        "created_at": redemption.created_at,
        "used_at": redemption.used_at,
        "cancelled_at": redemption.cancelled_at,
    }


def _money(value, currency: str):
    """An amount as the currency writes it (``1.00``, not the column's ``1.0000``)."""
    return None if value is None else money.from_minor(money.to_minor(value.normalize(), currency), currency)
