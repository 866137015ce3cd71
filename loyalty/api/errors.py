"""API errors: JSON with a stable ``code``, a message, and field errors.

flask-smorest turns every ``HTTPException`` into JSON; this subclass gives
the body the platform's shape (``code`` a string, as the CLI and the
webhook intake use) and maps the domain's errors to status codes. No stack
trace ever reaches a client: an unexpected error is a plain 500
``internal_error``.
"""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from loyalty import errors
from loyalty.db import db

log = logging.getLogger(__name__)

#: Codes for errors raised by HTTP itself rather than by the domain.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
}


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable, machine-readable error code."})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for people."})
    errors = ma.fields.Dict(metadata={"description": "Field errors of a validation failure, by location and field."})


def status_for(error: errors.LoyaltyError) -> int:
    if getattr(error, "http_status", None):
        return error.http_status
    if isinstance(error, errors.NotFound):
        return 404
    if isinstance(error, (errors.Conflict, errors.InsufficientPoints, errors.MemberNotActive)):
        return 409
    return 422


class LoyaltyApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_pagination_header(self):
        """Pages here are ``next_cursor`` in the body, not flask-smorest's header: no PaginationMetadata."""

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        payload = {
            "code": data.get("code") or HTTP_CODES.get(error.code, "error"),
            "message": data.get("message")
            or ("the request is invalid" if error.code == 422 else error.description or error.name),
        }
        field_errors = data.get("errors") or data.get("messages")
        if field_errors:
            payload["errors"] = field_errors
        if error.code == 500:
            payload["message"] = "something went wrong on our side; the request changed nothing"
        # The exception's own headers (a 405's Allow, a 401's WWW-Authenticate), less its HTML content type.
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        headers.update(data.get("headers") or {})
        return payload, error.code, headers


def handle_domain_error(error: errors.LoyaltyError):
    """A domain error raised by a service: its code and message, nothing written (rolled back)."""
    db.session.rollback()
    return {"code": error.code, "message": error.message}, status_for(error)


def handle_unexpected(error: Exception):
    """A blueprint's catch-all: HTTP errors get the JSON body, anything else a bare 500."""
    db.session.rollback()
    if isinstance(error, HTTPException):
        return current_app.extensions["loyalty_api"].handle_http_exception(error)
    log.exception("API request %s %s failed", request.method, request.path)
    return {"code": "internal_error", "message": "something went wrong on our side; the request changed nothing"}, 500
