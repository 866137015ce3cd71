"""Storefronts: the adapter contract plugins implement, and a program's connections.

An adapter (contributed through ``register_storefronts``) turns one
signed HTTP delivery from a store into normalized events
(:mod:`loyalty.earning.pipeline`). It sees a :class:`WebhookRequest`, not Flask's
request, so that the inbox can parse a stored delivery again long after
the HTTP request is gone.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyalty import errors


@dataclass(frozen=True)
class WebhookRequest:
    """A delivery as received: headers (any case), the raw body, when it arrived."""

    headers: dict
    body: bytes
    received_at: datetime

    def __post_init__(self):
        # Lower-cased once: adapters look several headers up per delivery.
        object.__setattr__(self, "_by_name", {key.lower(): value for key, value in self.headers.items()})

    def header(self, name: str) -> str | None:
        return self._by_name.get(name.lower())

    def json(self):
        """The body as JSON, numbers with a fraction as ``Decimal`` (never float), of a sane size.

        A number such as ``1e999999`` is refused here: it reads as a Decimal
        in no time, but turning it into an integer (a quantity, a Stripe
        amount, a timestamp) builds a million-digit number, which held a
        server worker for half a minute until gunicorn killed it.
        """
        try:
            return json.loads(self.body, parse_float=_json_number)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.MalformedWebhook(f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise errors.MalformedWebhook("the body's JSON is nested too deeply to read") from None


#: JSON numbers a store may send: no commerce figure needs more than this power of ten either way.
MAX_EXPONENT = 64


def _json_number(text: str) -> Decimal:
    number = Decimal(text)
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise errors.MalformedWebhook(f"the number {text[:40]} is out of range")
    return number


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", bool: "true or false", type(None): "null"}.get(
        type(value), f"the {type(value).__name__} {str(value)[:40]!r}"
    )


def id_of(value, what: str) -> str:
    """A store's id as text. Stores send ids as JSON strings or integers; anything else
    (an object, a list, ``true``, ``1.5``) is a malformed delivery, never an id spelled
    like Python (``"{'a': 1}"``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise errors.MalformedWebhook(f"{what} must be a string or an integer, not {_type_name(value)}")
    return str(value)


#: How stores write amounts as text: digits, at most one point, an optional sign; no spaces, no ``1_000``.
_AMOUNT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def money_of(value, what: str) -> Decimal:
    """An amount as stores send it: a decimal string (``"19.99"``) or a JSON number; missing or ``""`` is 0.

    ``Decimal()`` alone would also take ``" 12 "``, ``"1_000"`` and ``"NaN"``.
    """
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise errors.MalformedWebhook(f"{what} must be an amount, not {_type_name(value)}")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str) and _AMOUNT.match(value):
        return Decimal(value)
    raise errors.MalformedWebhook(f'{what} must be an amount such as "19.99", not {_type_name(value)}')


def count_of(value, what: str) -> int:
    """A whole number (a quantity) as a JSON integer or digits; missing is 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise errors.MalformedWebhook(f"{what} must be a whole number, not {_type_name(value)}")


class StorefrontAdapter:
    """Base class for storefront adapters; see the ``register_storefronts`` hook.

    ``stored_headers`` are the (lower-case) headers the inbox keeps with the
    body, because ``topic`` and ``parse`` need them later.
    """

    name: str = ""
    title: str = ""
    stored_headers: tuple[str, ...] = ()

    def verify(self, request: WebhookRequest, secret: str) -> None:
        """Raise :class:`~loyalty.errors.SignatureInvalid` unless the request is signed with ``secret``."""
        raise NotImplementedError

    def is_ping(self, request: WebhookRequest) -> bool:
        """An unsigned test request the store sends when a webhook is created (answered 200, not stored)."""
        return False

    def delivery_id(self, request: WebhookRequest) -> str | None:
        """The store's unique id for this delivery; the inbox dedupes on it."""
        raise NotImplementedError

    def topic(self, request: WebhookRequest) -> str:
        raise NotImplementedError

    def parse(self, request: WebhookRequest) -> list:
        """The normalized events of a verified delivery; ``[]`` for a topic the platform does not use."""
        raise NotImplementedError


def check_timestamp(request: WebhookRequest, sent: int, tolerance: int, what: str) -> None:
    """Refuse a signature dated more than ``tolerance`` seconds from the time of receipt, before or after.

    (Replay protection. Checked against ``received_at``, not the machine's
    clock, so the inbox and the tests see the delivery as it arrived.)
    """
    skew = abs(int(request.received_at.timestamp()) - sent)
    if skew > tolerance:
        raise errors.SignatureInvalid(f"{what} is {skew} s away from now (tolerance {tolerance} s)")


def hmac_sha256(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, "sha256").digest()


def same(expected: bytes, given: bytes) -> bool:
    """Constant-time comparison (no timing side channel on the signature)."""
    return hmac.compare_digest(expected, given)
