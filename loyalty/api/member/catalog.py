"""``rewards`` (the catalog, as this member can have it) and ``me/redemptions`` (redeem; the member's rewards)."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from loyalty.api import cursors
from loyalty.api.errors import ErrorSchema
from loyalty.api.idempotency import PARAMETER as IDEMPOTENCY_KEY
from loyalty.api.idempotency import idempotent, key_from_request
from loyalty.api.member.context import member_scope
from loyalty.api.member.resources import member_resource
from loyalty.api.member.schemas import MemberRedemption, MemberReward, RedeemRefusal, RedeemSchema, RedemptionPage
from loyalty.api.schemas import PageArgs
from loyalty.api.v1.rewards import redemption_view, reward_view
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.models import Redemption, Reward
from loyalty.registry import current_registry
from loyalty.rewards import list_rewards, reasons_unavailable, redeem, redemptions_of

#: The longest ``Idempotency-Key`` a member may send (the store's API takes 255: here the member's own prefix
#: and the ledger's ``widget:`` come on top).
KEY_LENGTH = 200

blp = member_resource("catalog", __name__, "The reward catalog for the member, and the member's redemptions.")


def shopper_reward(reward: Reward, *, member=None, balance: int | None = None, now=None) -> dict:
    """A reward as shoppers see it; with a member, whether they can have it now and, if not, why."""
    view = reward_view(reward, None)
    answer = {
        name: view[name]
        for name in (
            "id",
            "name",
            "description",
            "summary",
            "pricing",
            "points",
            "step_value",
            "min_points",
            "max_points",
            "min_tier",
            "stock_left",
            "ends_at",
            "limit_per_member",
        )
    }
    answer.update(
        available=None,
        unavailable_reason=None,
        points_needed=None,
        affordable=None,
        tier_eligible=None,
        in_stock=reward.stock is None or reward.issued_count < reward.stock,
        within_limit=None,
    )
    if member is None:
        return answer
    reasons = [reason.code for reason in reasons_unavailable(db.session, reward, member, now)]
    cost = reward.points if reward.pricing == "fixed" else (reward.min_points or reward.points)
    answer.update(
        affordable=balance >= cost,
        tier_eligible="tier" not in reasons,
        within_limit="limit_reached" not in reasons,
        points_needed=max(cost - balance, 0) or None,
    )
    if reasons:
        answer.update(available=False, unavailable_reason=reasons[0])
    elif balance < cost:
        answer.update(available=False, unavailable_reason="not_enough_points")
    else:
        answer["available"] = True
    return answer


def shopper_redemption(redemption: Redemption, *, reward: str | None = None) -> dict:
    view = redemption_view(redemption, reward=reward)
    return {name: view[name] for name in MemberRedemption._declared_fields}


@blp.route("/<program>/rewards", methods=["GET"])
@blp.doc(operationId="listMemberRewards")
@blp.response(200, MemberReward(many=True))
def rewards(program):
    """The program's active rewards, cheapest first, each saying whether this member can redeem it now."""
    balance = Ledger(db.session).balances(g.member.id)["available"]
    now = current_clock().now()
    views = [
        shopper_reward(reward, member=g.member, balance=balance, now=now)
        for reward in list_rewards(db.session, g.program, active_only=True)
    ]
    db.session.commit()
    return views


@blp.route("/<program>/me/redemptions", methods=["POST"])
@idempotent(required=True, scope=member_scope, max_length=KEY_LENGTH)
@blp.arguments(RedeemSchema)
@blp.doc(
    operationId="redeemReward",
    parameters=[
        {**IDEMPOTENCY_KEY, "required": True, "schema": {**IDEMPOTENCY_KEY["schema"], "maxLength": KEY_LENGTH}}
    ],
)
@blp.response(201, MemberRedemption, description="Issued: the points are spent; the code is in `code`.")
@blp.alt_response(
    404,
    schema=ErrorSchema,
    description="No such reward in this program (`unknown_reward`); as on every call, also no such program or "
    "widget (`unknown_program`) or not a member yet where members join with an order (`not_a_member`).",
)
@blp.alt_response(
    409,
    schema=RedeemRefusal,
    description="Not enough points (`insufficient_points`), the reward is not available to this member "
    "(`reward_unavailable`, with `reason`), the member is not active, or the key was used for another request.",
)
@blp.alt_response(502, schema=MemberRedemption, description="The reward could not be issued: nothing was spent.")
def redeem_reward(data, program):
    """Spend points on a reward as one step: never below zero; the same key answers the first result again."""
    redemption = redeem(
        db.session,
        g.program,
        g.member,
        data["reward_id"],
        key="widget:" + key_from_request(required=True, max_length=KEY_LENGTH),
        points=data["points"],
        actor="widget",
        clock=current_clock(),
        registry=current_registry(),
    )
    return shopper_redemption(redemption), 502 if redemption.status == "failed" else 201


@blp.route("/<program>/me/redemptions", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.doc(operationId="listMyRedemptions")
@blp.response(200, RedemptionPage)
def my_redemptions(args, program):
    """The member's rewards and their codes, newest first."""
    limit = args["limit"]
    rows = redemptions_of(
        db.session,
        g.member,
        limit=limit + 1,
        before_id=cursors.decode(args.get("cursor")),
    )
    page = rows[:limit]
    ids = {row.reward_id for row in page}
    names = dict(db.session.execute(select(Reward.id, Reward.name).where(Reward.id.in_(ids))).all()) if ids else {}
    data = [shopper_redemption(row, reward=names.get(row.reward_id)) for row in page]
    db.session.commit()
    return {"data": data, "next_cursor": cursors.next_cursor(rows, limit)}
