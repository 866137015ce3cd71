"""The admin's errors as pages in its layout: 400, 403, 404, 405, 429, 500.

A person at ``/admin`` who follows a stale link, lacks the role or signs in
too often reads what happened and where to go, in the admin's own page,
not the JSON the APIs and webhooks answer with (those keep theirs: these
handlers are the blueprint's, and a catch-all route sends unknown
``/admin/...`` addresses through it).
"""

from __future__ import annotations

import logging

from flask import render_template
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, abort

from loyalty.admin.blueprint import bp
from loyalty.db import db

log = logging.getLogger(__name__)

WHAT = {
    400: ("The request was not one this page can take", "Go back, reload the page and try again."),
    403: ("Your role cannot do this", "A viewer reads but changes nothing: ask an owner of the program."),
    404: ("There is nothing here", "The address may be old, or the program is not one your account sees."),
    405: ("This address does not take that", "Use the page's own buttons and forms."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: (
        "Something went wrong on our side",
        "Nothing was changed. Try again; if it happens again, tell your developer.",
    ),
}


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    title, advice = WHAT.get(error.code, (error.name, ""))
    detail = error.description if error.code in (400, 403) and _said(error) else ""
    return render_template("admin/error.html", code=error.code, title=title, advice=advice, detail=detail), error.code


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    """A bug: logged with its traceback, rolled back, and a page that says nothing changed (no trace shown)."""
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("admin page failed")
    db.session.rollback()
    return _http_error(InternalServerError())


@bp.route("/<path:anything>", methods=["GET", "POST"])
def _nowhere(anything):
    """An address under /admin that no page has: the admin's 404 page."""
    abort(404)


def _said(error: HTTPException) -> bool:
    """Whether the description is the platform's own sentence rather than werkzeug's generic one."""
    return error.description != type(error).description and error.description != NotFound.description
