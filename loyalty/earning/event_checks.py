"""What a normalized event must be before anything is written: the right types, and values that fit.

Adapters build events from whatever a store sent, and a store, or anyone
holding its secret, can send anything that parses as JSON: an object where
a code should be, a currency of ``840``, an amount of ``1e999999``, a name
of a megabyte, NUL characters (which PostgreSQL cannot store in text).
Without a check, each of these got as far as the database or the decimal
module and crashed there, a 500 that the store retried forever.

:func:`checked` is the one place that says what fits. The intake calls it
when it reads a delivery (so a delivery that cannot be read is answered
400 before it is stored), and the pipeline calls it for every event it
processes (the API, the CLI, the inbox reading a stored delivery again):

* **identities** (order, refund, customer and event ids) are non-empty
  strings that fit their columns, without NUL characters or unpaired
  surrogates (JSON's ``"\\ud800"``, which no database can encode); one that
  does not is refused, because an identity cut short would be another;
* **harmless text** (names, titles, SKUs, categories, discount codes, the
  origin, an IP, address lines) loses its NULs and unpaired surrogates and
  is cut to its column; a text field that is not text at all is refused;
* an **e-mail** that cannot be an address (no ``@``, over 320 characters)
  is left out, as if the store had sent none: the order still earns;
* **money** is a finite ``Decimal`` below :data:`MAX_MONEY`, so its minor
  units fit a 64-bit column with room for sums; the currency is three letters;
  quantities are whole numbers up to a billion;
* **timestamps** are aware, between 1900 and 8999, so that return windows
  and expiry dates computed from them stay within what dates can hold;
* **attributes and properties** are JSON objects nested at most
  :data:`MAX_DEPTH` deep, NULs and unpaired surrogates removed from their
  strings at any depth.

A refusal raises :class:`~loyalty.errors.InvalidInput` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime
from decimal import Decimal

from loyalty import errors
from loyalty.earning import events
from loyalty.programs.members import EMAIL

#: Amounts of money must be below this (in the currency's major unit): far above any real order, and in
#: minor units (at most 4 decimals) still 90 times below BIGINT's limit, so sums of an order's fields fit.
MAX_MONEY = Decimal(10) ** 13
#: How deep attributes and properties may nest (JSON objects and lists).
MAX_DEPTH = 32
MAX_QUANTITY = 10**9
#: Years a timestamp may have: expiry N years on and windows of days stay within ``datetime``
#: (which ends in 9999; ``9999-12-31T23:59:59-14:00`` overflows once turned into UTC). The API's
#: date-times (``loyalty.api.schemas.Moment``) take the same years.
YEARS = (1900, 8999)

#: Column widths (see the models): identities are refused past them, text is cut to them.
ID_LENGTH = 255
EVENT_ID_LENGTH = 200
EVENT_NAME_LENGTH = 100
TEXT_LENGTH = 255
TITLE_LENGTH = 500
EMAIL_LENGTH = 320
ORIGIN_LENGTH = 32
CODE_LENGTH = 255
REFERRAL_CODE_LENGTH = 32
IP_LENGTH = 64
CURRENCY_LENGTH = 3


def checked(event):
    """``event`` if it fits (its text cleaned), or :class:`~loyalty.errors.InvalidInput` saying what does not."""
    check = _CHECKS.get(type(event))
    if check is None:
        return event  # not an event the platform knows; the pipeline says so
    return check(event)


# --- per event -----------------------------------------------------------------


def _order_paid(event: events.OrderPaid) -> events.OrderPaid:
    currency = _currency(event.currency, "currency")
    return dataclasses.replace(
        event,
        order_id=_identity(event.order_id, "order_id"),
        customer=_customer(event.customer, "customer") if event.customer is not None else None,
        currency=currency,
        subtotal=_money(event.subtotal, "subtotal"),
        total=_money(event.total, "total"),
        discount=_money(event.discount, "discount"),
        tax=_money(event.tax, "tax"),
        shipping=_money(event.shipping, "shipping"),
        lines=tuple(_line(line, f"lines[{i}]") for i, line in enumerate(_sequence(event.lines, "lines"))),
        discount_codes=tuple(
            _text(code, f"discount_codes[{i}]", CODE_LENGTH)
            for i, code in enumerate(_sequence(event.discount_codes, "discount_codes"))
        ),
        attributes=_json_object(event.attributes, "attributes"),
        occurred_at=_moment(event.occurred_at, "occurred_at"),
        origin=_text(event.origin, "origin", ORIGIN_LENGTH) or "api",
        referral=_referral(event.referral),
        client_ip=_optional_text(event.client_ip, "client_ip", IP_LENGTH),
        shipping_address=_address(event.shipping_address),
    )


def _order_refunded(event: events.OrderRefunded) -> events.OrderRefunded:
    if not isinstance(event.cumulative, bool):
        raise _refused("cumulative", "must be true or false")
    return dataclasses.replace(
        event,
        order_id=_identity(event.order_id, "order_id"),
        refund_id=_identity(event.refund_id, "refund_id"),
        amount=_money(event.amount, "amount"),
        currency=_currency(event.currency, "currency"),
        occurred_at=_moment(event.occurred_at, "occurred_at"),
    )


def _order_cancelled(event: events.OrderCancelled) -> events.OrderCancelled:
    return dataclasses.replace(
        event, order_id=_identity(event.order_id, "order_id"), occurred_at=_moment(event.occurred_at, "occurred_at")
    )


def _customer_created(event: events.CustomerCreated) -> events.CustomerCreated:
    return dataclasses.replace(
        event, customer=_customer(event.customer, "customer"), occurred_at=_moment(event.occurred_at, "occurred_at")
    )


def _custom_event(event: events.CustomEvent) -> events.CustomEvent:
    return dataclasses.replace(
        event,
        event_id=_identity(event.event_id, "event_id", EVENT_ID_LENGTH),
        customer=_customer(event.customer, "customer"),
        name=_identity(event.name, "name", EVENT_NAME_LENGTH),
        properties=_json_object(event.properties, "properties"),
        occurred_at=_moment(event.occurred_at, "occurred_at"),
    )


def _birthday(event: events.Birthday) -> events.Birthday:
    return dataclasses.replace(event, customer=_customer(event.customer, "customer"))


_CHECKS = {
    events.OrderPaid: _order_paid,
    events.OrderRefunded: _order_refunded,
    events.OrderCancelled: _order_cancelled,
    events.CustomerCreated: _customer_created,
    events.CustomEvent: _custom_event,
    events.Birthday: _birthday,
}


# --- parts -----------------------------------------------------------------------


def _customer(customer, field: str) -> events.Customer:
    if not isinstance(customer, events.Customer):
        raise _refused(field, "must be a customer")
    if customer.birthday is not None and type(customer.birthday) is not date:  # only its month and day are used
        raise _refused(f"{field}.birthday", "must be a date")
    return dataclasses.replace(
        customer,
        external_id=_identity(customer.external_id, f"{field}.external_id"),
        email=_email(customer.email, f"{field}.email"),
        name=_optional_text(customer.name, f"{field}.name", TEXT_LENGTH),
    )


def _line(line, field: str) -> events.Line:
    if not isinstance(line, events.Line):
        raise _refused(field, "must be an order line")
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 0 <= line.quantity <= MAX_QUANTITY:
        raise _refused(f"{field}.quantity", f"must be a whole number from 0 to {MAX_QUANTITY}")
    return dataclasses.replace(
        line,
        id=_text(line.id, f"{field}.id", TEXT_LENGTH),
        title=_text(line.title, f"{field}.title", TITLE_LENGTH),
        total=_money(line.total, f"{field}.total"),
        product_id=_optional_text(line.product_id, f"{field}.product_id", TEXT_LENGTH),
        sku=_optional_text(line.sku, f"{field}.sku", TEXT_LENGTH),
        categories=tuple(
            _text(c, f"{field}.categories[{i}]", TEXT_LENGTH)
            for i, c in enumerate(_sequence(line.categories, f"{field}.categories"))
        ),
    )


def _address(address) -> events.Address | None:
    if address is None:
        return None
    if not isinstance(address, events.Address):
        raise _refused("shipping_address", "must be an address")
    return events.Address(
        *(
            _optional_text(getattr(address, name), f"shipping_address.{name}", TEXT_LENGTH)
            for name in ("line1", "line2", "city", "postcode", "country")
        )
    )


def _referral(mark) -> events.ReferralMark | None:
    if mark is None:
        return None
    if not isinstance(mark, events.ReferralMark):
        raise _refused("referral", "must be a referral code")
    code = _text(mark.code, "referral.code", REFERRAL_CODE_LENGTH).strip()
    return events.ReferralMark(code, _text(mark.via, "referral.via", ORIGIN_LENGTH)) if code else None


# --- values ----------------------------------------------------------------------


def _identity(value, field: str, length: int = ID_LENGTH) -> str:
    """An id the platform finds things by: refused, never changed, if it does not fit."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _refused(field, "must be a string")
    value = str(value)
    if not value.strip():
        raise _refused(field, "must not be empty")
    if UNSTORABLE.search(value):
        raise _refused(field, "must not contain NUL characters or unpaired surrogates")
    if len(value) > length:
        raise _refused(field, f"is {len(value)} characters long; at most {length} fit")
    return value


def _text(value, field: str, length: int) -> str:
    """Text shown to people: what no database can store removed, cut to its column."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _refused(field, "must be text")
    return storable(str(value))[:length]


def _optional_text(value, field: str, length: int) -> str | None:
    return None if value is None else (_text(value, field, length) or None)


def _email(value, field: str) -> str | None:
    """An address, or ``None`` for one that cannot be (the order still earns; the e-mail is not kept)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refused(field, "must be text")
    value = value.strip()
    return (
        value if value and len(value) <= EMAIL_LENGTH and not UNSTORABLE.search(value) and EMAIL.match(value) else None
    )


def _currency(value, field: str) -> str:
    if (
        not isinstance(value, str)
        or len(value.strip()) != CURRENCY_LENGTH
        or not value.strip().isascii()
        or not value.strip().isalpha()
    ):
        raise _refused(field, "must be a three-letter ISO 4217 code")
    return value.strip().upper()


def _money(value, field: str) -> Decimal:
    """A finite Decimal whose minor units fit (precision against the currency is the pipeline's check)."""
    if isinstance(value, float):
        raise _refused(field, 'must not be a float (money loses cents in floats); send a string such as "19.99"')
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise _refused(field, 'must be an amount of money (a string such as "19.99")')
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise _refused(field, f"{str(value)[:40]!r} is not an amount of money") from None
    if not amount.is_finite():
        raise _refused(field, "must be a finite amount")
    if abs(amount) >= MAX_MONEY:
        raise _refused(field, f"is larger than any order the platform can record (under {MAX_MONEY:,})")
    return amount


def _moment(value, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise _refused(field, "must be a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _refused(field, "must have a time zone")
    # The year as written, as the API's document states it; in UTC it may then be 1899 or 9000, which
    # still leaves centuries for windows and expiry (9999-12-31T23:59:59-14:00 could not even be turned into UTC).
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise _refused(field, f"must be between the years {YEARS[0]} and {YEARS[1]}")
    return value


def _sequence(value, field: str):
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise _refused(field, "must be a list")
    return value


def _json_object(value, field: str) -> dict:
    if not isinstance(value, dict):
        raise _refused(field, "must be a JSON object")
    return _scrub(value, field, 0)


def _scrub(value, field: str, depth: int):
    """A JSON value with NUL characters removed from every string, keys included."""
    if depth > MAX_DEPTH:
        raise _refused(field, f"is nested more than {MAX_DEPTH} deep")
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_scrub(str(key), field, depth): _scrub(item, field, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item, field, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise _refused(field, "must not hold NaN or infinity")
    return value


#: What PostgreSQL cannot store in text (NUL) and no UTF-8 encoder can write (a lone surrogate).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without NUL characters and unpaired surrogates."""
    return UNSTORABLE.sub("", text) if UNSTORABLE.search(text) else text


def _refused(field: str, problem: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"{field} {problem}", fields={field: [problem]})
