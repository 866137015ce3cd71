"""A member API blueprint: the program and (unless public) the member before every view; CORS and JSON errors on
every answer.

Apart from the package's ``init_app`` so that the view modules need not
import the package that registers them (as :mod:`loyalty.api.resources`).
"""

from __future__ import annotations

from flask_smorest import Blueprint

from loyalty import errors
from loyalty.api.errors import handle_unexpected, status_for
from loyalty.api.member.context import add_cors_headers, load_member, load_program
from loyalty.api.parsing import ApiParser
from loyalty.db import db


class MemberBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


def handle_domain_error(error: errors.LoyaltyError):
    """A domain error: its code, message and, for an unavailable reward, why (``reason``); nothing written."""
    db.session.rollback()
    body = {"code": error.code, "message": error.message}
    if error.details.get("reason"):
        body["reason"] = error.details["reason"]
    return body, status_for(error)


def member_resource(name: str, import_name: str, description: str, *, public: bool = False) -> Blueprint:
    blp = MemberBlueprint(f"member_{name}", import_name, description=description)
    blp.before_request(load_program)
    if not public:
        blp.before_request(load_member)
    blp.after_request(add_cors_headers)
    blp.register_error_handler(errors.LoyaltyError, handle_domain_error)
    blp.register_error_handler(Exception, handle_unexpected)
    return blp
