"""External ids in API paths, slashes included (``/members/team%2Fann``).

Stores choose their customer ids, and some contain ``/`` (Stripe guest
checkouts use e-mail addresses such as ``a/b@example.com``). WSGI servers
(gunicorn, Werkzeug's) decode ``%2F`` into ``/`` in ``PATH_INFO``, so a
plain ``<external_id>`` segment never matched such a member. Two parts:

* :class:`ExternalIdConverter`, a ``path``-like converter, takes the rest
  of the path up to a sub-resource (``/transactions``, ``/redemptions``…),
  so ``/members/team/ann`` and ``/members/team%2Fann`` both reach the member.
* :class:`EncodedSlashes` settles what that leaves ambiguous: a member
  whose id ends in ``/transactions``. Servers also pass the undecoded path
  (``RAW_URI``, ``REQUEST_URI``); when they do, a slash the client encoded
  reaches the router as :data:`ENCODED_SLASH` and so can only be part of
  the id, while a literal slash followed by a sub-resource's name
  (:data:`SUB_RESOURCE`) always starts the sub-resource: so
  ``GET /members/x/adjustments`` is a 405 (``Allow: POST``), never a member
  ``x/adjustments``. Without a raw path, ids ending in a sub-resource's
  name cannot be reached (their sub-resource wins).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

from werkzeug.routing import PathConverter
from werkzeug.wrappers import Response

#: What an encoded slash becomes on its way to the router: NUL, which no
#: external id may contain (PostgreSQL cannot store it), so nothing else can
#: be mistaken for it.
ENCODED_SLASH = "\x00"

_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)

#: The paths under a member (``/members/<id>/…``), as the end of a path: an id never ends so.
SUB_RESOURCES = r"/(?:transactions|adjustments|referrals|redemptions(?:/[^/]*/cancel)?)"
SUB_RESOURCE = re.compile(SUB_RESOURCES + r"\Z")

_NO_SUCH_MEMBER = Response(
    '{"code": "unknown_member", "message": "no member has a NUL character in their external id"}\n',
    status=404,
    mimetype="application/json",
)


class ExternalIdConverter(PathConverter):
    """A member's external id: one or more path segments; encoded slashes are part of it."""

    #: ``path``'s own pattern, but with ``.`` matching line breaks too (an id may contain one).
    regex = "[^/](?s:.)*?"

    def to_python(self, value: str) -> str:
        return value.replace(ENCODED_SLASH, "/")

    def to_url(self, value: str) -> str:
        return quote(value, safe="")


class MemberConverter(ExternalIdConverter):
    """The id of ``/members/<id>`` itself: anything but a path that ends in a sub-resource.

    (In the pattern, not in ``to_python``: the router lists a path's
    methods, for ``Allow``, from the patterns alone.)
    """

    regex = f"(?!(?s:.)*{SUB_RESOURCES}\\Z)" + ExternalIdConverter.regex


def external_id_schema(converter) -> dict:
    """How the OpenAPI document states the parameter."""
    return {"type": "string", "minLength": 1, "description": "The member's external id; encode `/` as `%2F`."}


class EncodedSlashes:
    """WSGI middleware: under ``prefix``, keep the slashes the client encoded apart from the path's own."""

    def __init__(self, app, prefix: str):
        self.app = app
        self.prefix = prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.prefix) and ENCODED_SLASH in path:
            # A NUL the client sent (%00) would read as an encoded slash: no member has one.
            return _NO_SUCH_MEMBER(environ, start_response)
        if path.startswith(self.prefix):
            rebuilt = self._path_keeping_encoded_slashes(environ)
            if rebuilt is not None:
                environ = {**environ, "PATH_INFO": rebuilt}
        return self.app(environ, start_response)

    @staticmethod
    def _path_keeping_encoded_slashes(environ) -> str | None:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        raw = raw.split("?", 1)[0]
        if not raw.startswith("/") or not _ENCODED_SLASH.search(raw) or "%00" in raw:
            return None
        # Decoded as the server decoded PATH_INFO (bytes as latin-1, per WSGI), one piece at a time.
        pieces = [unquote_to_bytes(piece).decode("latin-1") for piece in _ENCODED_SLASH.split(raw)]
        script, path = environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
        if "/".join(pieces) != script + path:
            return None  # a proxy rewrote the path: trust the server's PATH_INFO alone
        return ENCODED_SLASH.join(pieces)[len(script) :]
