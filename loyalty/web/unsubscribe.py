"""The one-click unsubscribe link of every e-mail: ``/messages/v1/<program>/unsubscribe/<member id>/<token>``.

* ``GET`` shows a page with a button, and changes nothing: mail scanners
  and link previews open links, and must not unsubscribe anyone.
* ``POST`` unsubscribes: RFC 8058's one-click (the mailbox provider posts
  ``List-Unsubscribe=One-Click``, with no cookie and no CSRF token) or the
  page's button. The page's other button (``action=subscribe``)
  subscribes again.

The token (:mod:`loyalty.messages.unsubscribe`) is an HMAC of program
and member under the app's secret, so the link is the authorisation: no
sign-in. A link that is not one (unknown program or member, an id beyond
64 bits, a wrong token, a NUL) is a 404 page, never an error, and
changes nothing.
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from loyalty.clock import current_clock
from loyalty.db import db, is_id
from loyalty.messages import subscriptions, unsubscribe
from loyalty.models import Member, Program

bp = Blueprint(
    "unsubscribe",
    __name__,
    url_prefix="/messages/v1",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

TOKEN = re.compile(r"[0-9a-f]{32}")
NUMBER = re.compile(r"[1-9][0-9]{0,18}")


def _member(program_slug: str, member_id: str, token: str) -> tuple[Program, Member] | None:
    """The program and member the link is for, if it is a link the platform made."""
    if not (NUMBER.fullmatch(member_id) and TOKEN.fullmatch(token)) or not is_id(int(member_id)):
        return None
    if not 0 < len(program_slug) <= 64 or "\x00" in program_slug:
        return None
    if not unsubscribe.check(current_app.config["SECRET_KEY"], program_slug, int(member_id), token):
        return None
    program = db.session.scalar(select(Program).where(Program.slug == program_slug))
    member = db.session.get(Member, int(member_id)) if program is not None else None
    if member is None or member.program_id != program.id:
        return None
    return program, member


def masked(email: str | None) -> str | None:
    """``a•••@example.com``: enough for the member to recognise, not the whole address for whoever has the link."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


@bp.route("/<program_slug>/unsubscribe/<member_id>/<token>", methods=["GET", "POST"])
def page(program_slug, member_id, token):
    found = _member(program_slug, member_id, token)
    if found is None:
        db.session.rollback()
        return render_template("web/unsubscribe.html", program=None, member=None, done=None), 404
    program, member = found
    done = None
    if request.method == "POST":
        subscribe = request.form.get("action") == "subscribe"  # anything else, One-Click included, unsubscribes
        subscriptions.set_subscribed(member, subscribe, at=current_clock().now())
        db.session.commit()
        done = "subscribed" if subscribe else "unsubscribed"
    answer = render_template(
        "web/unsubscribe.html",
        program=program,
        member=member,
        email=masked(member.email),
        subscribed=subscriptions.subscribed(member),
        done=done,
    )
    db.session.rollback()
    return answer


def init_app(app) -> None:
    app.register_blueprint(bp)
