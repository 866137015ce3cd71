"""Who is asking: the program in the path, its widget, and the member the store's token vouches for.

Run before every member API view, in this order, so that each refusal
happens before anything is read or written for the request:

1. the program of ``/member/v1/<program>/``, with a widget that was
   enabled once (else 404 ``unknown_program``: a program without a widget
   has no member API);
2. a preflight (``OPTIONS``) is answered here, without a token;
3. a switched-off widget answers 403 ``widget_disabled``;
4. the member token (:mod:`loyalty.widget.tokens`): 401 if it is missing,
   expired or not signed with this program's current secret;
5. the member's rate limit (429);
6. the member, enrolled now if the token's customer is not one yet and the
   program lets members join through the widget (sign-up rules apply,
   once: a concurrent first request finds the member the other made).

The CORS headers are added to every answer, refusals included, so the
widget can read why it was refused.
"""

from __future__ import annotations

from flask import g, make_response, request
from flask_smorest import abort
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from loyalty.api.member import cors, limits
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.events import Customer
from loyalty.earning.pipeline import enrol
from loyalty.models import Program
from loyalty.programs.members import find_member
from loyalty.registry import current_registry
from loyalty.widget.settings import settings_of
from loyalty.widget.tokens import InvalidMemberToken, read_token

#: The program of the path: built once, as every request of the widget starts with it.
PROGRAM_BY_SLUG = select(Program).where(Program.slug == bindparam("slug"))


def load_program():
    """``before_request``: the program and its widget (steps 1 to 3)."""
    slug = (request.view_args or {}).get("program", "")
    program = db.session.scalar(PROGRAM_BY_SLUG, {"slug": slug}) if 0 < len(slug) <= 64 and "\x00" not in slug else None
    settings = settings_of(db.session, program) if program is not None else None
    if settings is None:
        db.session.rollback()
        abort(404, code="unknown_program", message=f"no program {slug[:64]!r} has a storefront widget")
    g.program, g.widget = program, settings
    # Kept apart: the answer's CORS headers are added after the view's commit, which expires ``settings``.
    g.widget_origins = settings.origins
    if request.method == "OPTIONS":
        return make_response("", 204)
    if not settings.enabled:
        db.session.rollback()
        abort(403, code="widget_disabled", message="the store has switched its rewards widget off")
    return None


def load_member():
    """``before_request`` of the views about the member: token, rate limit, member (steps 4 to 6)."""
    if request.method == "OPTIONS":
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise InvalidMemberToken("a member token is required: Authorization: Bearer <token>")
        claims = read_token(token.strip(), g.widget.secret, clock=current_clock())
    except InvalidMemberToken as exc:
        db.session.rollback()
        abort(401, code=exc.code, message=exc.message, headers={"WWW-Authenticate": "Bearer"})
    program_id = g.program.id
    # Nothing is written yet: end the reading transaction before the count, which commits on a connection of
    # its own (on SQLite every transaction holds the write lock from its start, so the count would wait for it).
    # Without expiring the program and widget just read: this request goes by them, and reading them again
    # would cost two more queries.
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring
    retry_after = limits.hit(program_id, claims.external_id)
    if retry_after is not None:
        db.session.rollback()
        abort(
            429,
            code="rate_limited",
            message=f"too many requests: try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
    g.member, g.joined_now = _member(claims)
    return None


def _member(claims):
    member = find_member(db.session, g.program, claims.external_id)
    if member is not None:
        return member, False
    if g.widget.joins == "order":
        db.session.rollback()
        abort(404, code="not_a_member", message="not a member yet: members join with their first order")
    customer = Customer(claims.external_id, claims.email, claims.name)
    try:
        with db.session.begin_nested():
            member, created = enrol(db.session, g.program, customer, clock=current_clock(), registry=current_registry())
    except IntegrityError:
        # Another request of the same shopper enrolled them first (PostgreSQL; SQLite writes one at a time).
        member, created = find_member(db.session, g.program, claims.external_id), False
    return member, created


def add_cors_headers(response):
    """``after_request``: the CORS headers, for the program's origins (none before the program is known)."""
    origins = g.get("widget_origins")
    if origins is None:
        response.vary.add("Origin")
        return response
    return cors.add_headers(response, origins)


def member_scope() -> str:
    """The member's own namespace of ``Idempotency-Key``s (see :func:`loyalty.api.idempotency.idempotent`)."""
    return f"member:{g.member.id}:"
