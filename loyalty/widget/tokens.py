"""Member tokens: how a store tells the platform which of its shoppers is looking.

Two forms, both signed with the program's widget secret:

* a **JWT** (HS256, made with any JWT library on the store's server):
  ``sub`` is the customer's id as the store's webhooks carry it, ``iat``
  and ``exp`` are required and ``exp`` may be at most 24 hours after
  ``iat``; ``email`` and ``name`` are optional and fill in a new member.
* the **digest form**, for store pages made from templates that cannot make
  a JWT (Shopify's Liquid has an ``hmac_sha256`` filter, WooCommerce's PHP
  ``hash_hmac``): the customer id, a Unix timestamp and
  ``hex(HMAC-SHA256(secret, "<id>:<timestamp>"))``, good for 24 hours after
  the timestamp. The widget sends it as
  ``hmac.<base64url(id)>.<timestamp>.<digest>``.

Times are checked here against the platform's clock, not by PyJWT (which
reads the system time and so could not be tested at a fixed moment): a
token is refused when expired, issued in the future (more than
:data:`SKEW`, for clocks a little apart), or living longer than a day.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

import jwt
from jwt.exceptions import InvalidSubjectError  # (not exported at the top of the package)

from loyalty import errors
from loyalty.clock import Clock
from loyalty.programs.members import EMAIL

MAX_LIFETIME = timedelta(hours=24)
#: How far in the future an ``iat`` or a timestamp may be: the store's clock and ours may differ a little.
SKEW = timedelta(minutes=5)
#: Far longer than any real token (a JWT with a long name is well under 1 KB).
MAX_TOKEN_LENGTH = 4096
DIGEST_PREFIX = "hmac."
MAX_ID_LENGTH = 255


class InvalidMemberToken(errors.LoyaltyError):
    """Missing, malformed, expired, or not signed with this program's current secret."""

    code = "invalid_member_token"
    http_status = 401


@dataclass(frozen=True)
class MemberClaims:
    external_id: str
    email: str | None = None
    name: str | None = None


def digest(secret: str, external_id: str, timestamp: int | str) -> str:
    """``hex(HMAC-SHA256(secret, "<id>:<timestamp>"))``: what a store's template computes."""
    return hmac.new(secret.encode(), f"{external_id}:{timestamp}".encode(), hashlib.sha256).hexdigest()


def digest_token(external_id: str, timestamp: int | str, hex_digest: str) -> str:
    """The digest form as one bearer token (what the widget sends for ``data-customer``/``-timestamp``/``-digest``)."""
    encoded = base64.urlsafe_b64encode(external_id.encode()).decode().rstrip("=")
    return f"{DIGEST_PREFIX}{encoded}.{timestamp}.{hex_digest}"


def make_jwt(
    secret: str,
    external_id: str,
    *,
    clock: Clock,
    email: str | None = None,
    name: str | None = None,
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    """A member token as a store's server makes one (the demo storefront and the tests use it)."""
    now = int(clock.now().timestamp())
    claims = {"sub": external_id, "iat": now, "exp": now + int(lifetime.total_seconds())}
    if email is not None:
        claims["email"] = email
    if name is not None:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str | None, secret: str, *, clock: Clock) -> MemberClaims:
    """Who the token is for, if ``secret`` signed it and it is still good; else :class:`InvalidMemberToken`."""
    if not token:
        raise InvalidMemberToken("a member token is required: Authorization: Bearer <token>")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidMemberToken(f"a member token is at most {MAX_TOKEN_LENGTH} ASCII characters")
    if token.startswith(DIGEST_PREFIX):
        return _read_digest(token, secret, clock)
    return _read_jwt(token, secret, clock)


def _read_jwt(token: str, secret: str, clock: Clock) -> MemberClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={
                "require": ["sub", "exp", "iat"],
                "verify_exp": False,  # checked below, against the platform's clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidMemberToken(f"the member token has no {exc.claim!r} claim") from None
    except InvalidSubjectError:
        raise InvalidMemberToken('the member token\'s sub must be the customer id as a string, e.g. "123"') from None
    except jwt.InvalidSignatureError:
        raise InvalidMemberToken("the member token is not signed with this program's widget secret") from None
    except jwt.InvalidTokenError:
        raise InvalidMemberToken("the member token is not a valid HS256 JWT") from None
    issued, expires = claims["iat"], claims["exp"]
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (issued, expires)):
        raise InvalidMemberToken("the member token's iat and exp must be numbers (seconds since 1970)")
    if not all(abs(value) < 1e11 for value in (issued, expires)):
        raise InvalidMemberToken("the member token's iat and exp must be seconds since 1970")
    if expires - issued > MAX_LIFETIME.total_seconds():
        raise InvalidMemberToken("the member token lives longer than 24 hours (exp - iat)")
    now = clock.now().timestamp()
    if expires <= now:
        raise InvalidMemberToken("the member token has expired")
    if issued > now + SKEW.total_seconds():
        raise InvalidMemberToken("the member token was issued in the future (check the store's clock)")
    email = _optional_text(claims.get("email"), "email", 320)
    if email is not None and not EMAIL.match(email):
        raise InvalidMemberToken("the member token's email is not an e-mail address")
    return MemberClaims(_external_id(claims["sub"]), email, _optional_text(claims.get("name"), "name", 255))


def _read_digest(token: str, secret: str, clock: Clock) -> MemberClaims:
    parts = token[len(DIGEST_PREFIX) :].split(".")
    if len(parts) != 3:
        raise InvalidMemberToken("a digest token is hmac.<base64url customer id>.<timestamp>.<hex digest>")
    encoded, timestamp, presented = parts
    try:
        external_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError):
        raise InvalidMemberToken("the digest token's customer id is not base64url-encoded UTF-8") from None
    if not timestamp.isdigit() or len(timestamp) > 11:
        raise InvalidMemberToken("the digest token's timestamp must be seconds since 1970")
    expected = digest(secret, external_id, timestamp)
    if not hmac.compare_digest(expected, presented.lower()):
        raise InvalidMemberToken("the digest does not match: not signed with this program's widget secret")
    now = clock.now().timestamp()
    if int(timestamp) + MAX_LIFETIME.total_seconds() <= now:
        raise InvalidMemberToken("the digest is more than 24 hours old: the page must compute a fresh one")
    if int(timestamp) > now + SKEW.total_seconds():
        raise InvalidMemberToken("the digest's timestamp is in the future (check the store's clock)")
    return MemberClaims(_external_id(external_id))


def _external_id(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise InvalidMemberToken(f"the member token's customer id must be 1 to {MAX_ID_LENGTH} characters")
    return value.strip()


def _optional_text(value, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise InvalidMemberToken(f"the member token's {name} must be text of at most {limit} characters")
    return value.strip() or None
