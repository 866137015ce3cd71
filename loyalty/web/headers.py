"""Security headers on every answer: what a browser may load, frame and send on.

The admin and the API's docs (``/api/v1/docs``) are pages people open in
a browser on the same origin as the admin's session, so they get the full
set: a Content-Security-Policy that loads scripts, styles, images and
requests from this site only (no inline script or style: the admin has
none, Swagger UI is served from the ``swagger-ui-bundle-v2`` package with an
init script of ours), may be framed by no one (``frame-ancestors 'none'``,
and ``X-Frame-Options: DENY`` for older browsers) and posts forms only
here; ``Referrer-Policy: same-origin`` (not ``no-referrer``: Flask-WTF's CSRF
check on https needs the admin's own pages' Referer). The API's JSON gets the
same, harmlessly. Webhooks, which only machines call and where every
microsecond counts, get ``X-Content-Type-Options: nosniff`` alone, like
everything else.
"""

from __future__ import annotations

from flask import request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _secure(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not request.path.startswith("/webhooks/"):
        # A view that set its own policy (the admin's sandboxed e-mail preview frame) keeps it.
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def init_app(app) -> None:
    app.after_request(_secure)
