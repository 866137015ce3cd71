"""``me`` (balances, tier progress, referral link, next expiry, e-mail choice), ``me/activity`` (entries in the
member's words) and ``me/subscription`` (the member's choice about e-mails)."""

from __future__ import annotations

from flask import g

from loyalty.api import cursors
from loyalty.api.member.activity import describe_lines
from loyalty.api.member.resources import member_resource
from loyalty.api.member.schemas import ActivityArgs, ActivityPage, MeSchema, Subscription
from loyalty.api.v1.members import member_view
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger.history import member_history
from loyalty.messages.subscriptions import set_subscribed
from loyalty.programs.expiry import next_expiry
from loyalty.widget.texts import texts_with_defaults

blp = member_resource("profile", __name__, "The signed-in member: balances, tier progress, activity.")


@blp.route("/<program>/me", methods=["GET"])
@blp.doc(operationId="getMe")
@blp.response(200, MeSchema)
def me(program):
    """The member the token is for (enrolled now, if the program lets members join through the widget)."""
    member = g.member
    view = member_view(member)
    answer = {
        "external_id": view["external_id"],
        "name": view["name"],
        "email": view["email"],
        "status": view["status"],
        "enrolled_at": view["enrolled_at"],
        "joined_now": g.joined_now,
        "balances": view["balances"],
        "tier": view["tier"],
        "tier_progress": view["tier_progress"],
        "referral": {"code": view["referral_code"], "link": view["referral_link"]},
        "next_expiry": next_expiry(db.session, g.program, member),
        "subscribed": view["subscribed"],
    }
    db.session.commit()  # an enrolment of this request
    return answer


@blp.route("/<program>/me/activity", methods=["GET"])
@blp.arguments(ActivityArgs, location="query")
@blp.doc(operationId="listActivity")
@blp.response(200, ActivityPage)
def activity(args, program):
    """The member's entries, newest first, a page at a time (``next_cursor``), each in the member's words."""
    limit = args["limit"]
    cursor = cursors.decode(args.get("cursor"))
    lines = member_history(db.session, g.member.id, limit=limit + 1, before_id=cursor)
    page = lines[:limit]
    data = describe_lines(db.session, page, texts_with_defaults(g.widget.texts))
    db.session.commit()
    return {"data": data, "next_cursor": cursors.next_cursor(lines, limit, lambda line: line.entry_id)}


@blp.route("/<program>/me/subscription", methods=["PUT"])
@blp.arguments(Subscription)
@blp.doc(operationId="setSubscription")
@blp.response(200, Subscription)
def subscription(data, program):
    """The member opts out of the program's e-mails (``subscribed: false``) or back in; saying it twice is harmless."""
    set_subscribed(g.member, data["subscribed"], at=current_clock().now())
    answer = {"subscribed": g.member.unsubscribed_at is None}
    db.session.commit()
    return answer
