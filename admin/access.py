"""Who may do what in the admin: one decorator every view goes through."""

from __future__ import annotations

import functools

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import select

from loyalty.db import db
from loyalty.models import Program


def admin_view(*, change: bool = False, owner: bool = False):
    """Signed in; the program in the URL (``program_slug``) one the account may see (404 otherwise);
    ``change``: a POST that changes something needs an owner or a manager (403 for a viewer);
    ``owner``: a POST needs an owner (secrets and keys)."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            slug = kwargs.pop("program_slug", None)
            if slug is not None:
                program = db.session.scalar(select(Program).where(Program.slug == slug))
                if program is None or not current_user.may_see(program):
                    abort(404)
                kwargs["program"] = program
            if request.method == "POST" and (
                (change and not current_user.may_change()) or (owner and current_user.role != "owner")
            ):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def visible_programs() -> list[Program]:
    query = select(Program).order_by(Program.slug)
    return [program for program in db.session.scalars(query) if current_user.may_see(program)]
