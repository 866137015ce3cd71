"""Normalized events: what happened at a store, in the few shapes every source describes it in.

Storefront adapters, the API and the CLI all build these; the earning
pipeline (:mod:`loyalty.earning.pipeline`) turns them into members, orders
and ledger entries. This module imports nothing heavy, so an adapter that
builds events does not drag the pipeline in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Customer:
    external_id: str
    email: str | None = None
    name: str | None = None
    birthday: date | None = None


@dataclass(frozen=True)
class Line:
    id: str
    title: str
    quantity: int
    #: What the customer pays for the line, after line-level discounts.
    total: Decimal
    product_id: str | None = None
    sku: str | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Address:
    """A shipping address, as far as the store gives it."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None

    def key(self) -> str | None:
        """A fingerprint that ignores case, spacing and punctuation (``"Chestnut St. 92"`` = ``"chestnut st 92"``).

        ``None`` when there is no street line: a country alone matches too many people.
        """
        parts = [
            "".join(ch for ch in (part or "").lower() if ch.isalnum())
            for part in (self.line1, self.line2, self.postcode, self.country)
        ]
        if not parts[0]:
            return None
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ReferralMark:
    """A referral code an order carries outside its discount codes, and where it was found.

    Adapters set it from what their storefront sends: a note attribute or
    the ``ref`` parameter of the landing page (Shopify), order meta data
    (WooCommerce), metadata (Stripe). Discount codes need no mark: the
    pipeline tries each against the members' referral codes.
    """

    code: str
    via: str


#: Names under which stores pass a referral code in attributes, metadata or a landing URL.
REFERRAL_KEYS = ("ref", "referral_code", "referral", "_referral_code")


def referral_mark(values: dict | None, via: str) -> ReferralMark | None:
    """The first referral code among ``values`` (attributes, metadata, query parameters), if any."""
    for key in REFERRAL_KEYS:
        value = (values or {}).get(key)
        if isinstance(value, list):  # parse_qs gives lists
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return ReferralMark(value.strip()[:32], via)
    return None


@dataclass(frozen=True)
class OrderPaid:
    order_id: str
    customer: Customer | None
    currency: str
    subtotal: Decimal
    total: Decimal
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    lines: tuple[Line, ...] = ()
    discount_codes: tuple[str, ...] = ()
    attributes: dict = field(default_factory=dict)
    occurred_at: datetime | None = None
    origin: str = "api"
    #: For referrals: a code outside the discount codes, the buyer's IP, where the order ships.
    referral: ReferralMark | None = None
    client_ip: str | None = None
    shipping_address: Address | None = None
    kind = "order_paid"


@dataclass(frozen=True)
class OrderRefunded:
    """A refund of ``amount``; with ``cumulative`` the amount is the order's total refunded so far.

    (Some stores, Stripe's ``charge.refunded`` for one, report the running
    total rather than each refund; the pipeline then refunds the difference.)
    """

    order_id: str
    refund_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime | None = None
    cumulative: bool = False
    kind = "order_refunded"


@dataclass(frozen=True)
class OrderCancelled:
    order_id: str
    occurred_at: datetime | None = None
    kind = "order_cancelled"


@dataclass(frozen=True)
class CustomerCreated:
    customer: Customer
    occurred_at: datetime | None = None
    kind = "customer_created"


@dataclass(frozen=True)
class CustomEvent:
    event_id: str
    customer: Customer
    name: str
    properties: dict = field(default_factory=dict)
    occurred_at: datetime | None = None
    kind = "custom_event"


@dataclass(frozen=True)
class Birthday:
    """Sent by the scheduler on a member's birthday."""

    customer: Customer
    year: int
    occurred_at: datetime | None = None
    kind = "birthday"


Event = OrderPaid | OrderRefunded | OrderCancelled | CustomerCreated | CustomEvent | Birthday
