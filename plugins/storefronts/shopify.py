"""Shopify webhooks: HMAC-SHA256 of the raw body, base64, in ``X-Shopify-Hmac-Sha256``.

Topics used: ``orders/create`` and ``orders/paid`` (a paid order earns;
both may arrive, the pipeline earns once), ``orders/cancelled``,
``refunds/create``, ``customers/create``. Amounts are the shop's money
(``currency``), not the presentment currency.

Referrals: a member's code may come as a discount code, a note attribute
(``ref``, ``referral_code``…, set by a cart script) or the ``ref``
parameter of ``landing_site``; ``browser_ip`` and the shipping address go
to the fraud checks.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from loyalty.plugin_api import (
    Address,
    Customer,
    CustomerCreated,
    Line,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    StorefrontAdapter,
    count_of,
    errors,
    hmac_sha256,
    hookimpl,
    id_of,
    money_of,
    referral_mark,
    same,
)

PAID_STATUSES = {"paid", "partially_refunded", "refunded", "partially_paid"}


def _when(value) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def customer_of(data: dict | None) -> Customer | None:
    if not data or data.get("id") is None:
        return None
    name = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part) or None
    return Customer(external_id=id_of(data["id"], "customer.id"), email=data.get("email") or None, name=name)


def _query(url: str | None) -> dict:
    """The query parameters of the page the buyer landed on (``/?ref=CODE``)."""
    return parse_qs(urlsplit(url).query) if url else {}


def _address(data: dict | None) -> Address | None:
    if not data:
        return None
    return Address(
        data.get("address1"),
        data.get("address2"),
        data.get("city"),
        data.get("zip"),
        data.get("country_code") or data.get("country"),
    )


class Shopify(StorefrontAdapter):
    name = "shopify"
    title = "Shopify"
    stored_headers = ("x-shopify-topic", "x-shopify-shop-domain", "x-shopify-webhook-id", "x-shopify-event-id")

    def verify(self, request, secret):
        given = request.header("X-Shopify-Hmac-Sha256")
        if not given:
            raise errors.SignatureInvalid("missing X-Shopify-Hmac-Sha256 header")
        try:
            signature = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            raise errors.SignatureInvalid("X-Shopify-Hmac-Sha256 is not base64") from None
        if not same(hmac_sha256(secret.encode(), request.body), signature):
            raise errors.SignatureInvalid("the Shopify signature does not match")

    def delivery_id(self, request):
        return request.header("X-Shopify-Webhook-Id") or request.header("X-Shopify-Event-Id")

    def topic(self, request):
        return request.header("X-Shopify-Topic") or ""

    def parse(self, request):
        topic, data = self.topic(request), request.json()
        if not isinstance(data, dict):
            raise errors.MalformedWebhook("a Shopify webhook body is a JSON object")
        try:
            if topic in ("orders/create", "orders/paid"):
                if topic == "orders/create" and data.get("financial_status") not in PAID_STATUSES:
                    return []  # not paid yet: orders/paid will follow
                return [self.order(data)]
            if topic == "orders/cancelled":
                return [OrderCancelled(order_id=id_of(data["id"], "id"), occurred_at=_when(data.get("cancelled_at")))]
            if topic == "refunds/create":
                return [self.refund(data)]
            if topic == "customers/create":
                customer = customer_of(data)
                return [CustomerCreated(customer, occurred_at=_when(data.get("created_at")))] if customer else []
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise errors.MalformedWebhook(f"unexpected Shopify {topic} payload: {type(exc).__name__}: {exc}") from None
        return []

    @staticmethod
    def order(data: dict) -> OrderPaid:
        lines = tuple(Shopify.line(item) for item in data.get("line_items") or [])
        attributes = {a["name"]: a.get("value") for a in data.get("note_attributes") or [] if a.get("name")}
        return OrderPaid(
            order_id=id_of(data["id"], "id"),
            customer=customer_of(data.get("customer")),
            currency=data["currency"],
            subtotal=money_of(data.get("total_line_items_price", data.get("subtotal_price")), "total_line_items_price"),
            discount=money_of(data.get("total_discounts"), "total_discounts"),
            tax=money_of(data.get("total_tax"), "total_tax"),
            shipping=sum(
                (money_of(s.get("price"), "shipping_lines.price") for s in data.get("shipping_lines") or []), Decimal(0)
            ),
            total=money_of(data["total_price"], "total_price"),
            lines=lines,
            discount_codes=tuple(code["code"] for code in data.get("discount_codes") or [] if code.get("code")),
            attributes=attributes,
            occurred_at=_when(data.get("processed_at") or data.get("created_at")),
            origin="shopify",
            referral=referral_mark(attributes, "note_attribute")
            or referral_mark(_query(data.get("landing_site")), "landing_site"),
            client_ip=data.get("browser_ip") or (data.get("client_details") or {}).get("browser_ip") or None,
            shipping_address=_address(data.get("shipping_address")),
        )

    @staticmethod
    def line(item: dict) -> Line:
        """A line item: what the customer pays for it is its price times the quantity, less its discounts."""
        quantity = count_of(item.get("quantity"), "line_items.quantity")
        discounts = sum(
            (money_of(a.get("amount"), "discount_allocations.amount") for a in item.get("discount_allocations") or []),
            Decimal(0),
        )
        return Line(
            id=id_of(item["id"], "line_items.id"),
            title=item.get("title") or item.get("name") or "",
            quantity=quantity,
            total=money_of(item.get("price"), "line_items.price") * quantity - discounts,
            product_id=id_of(item["product_id"], "line_items.product_id")
            if item.get("product_id") is not None
            else None,
            sku=item.get("sku") or None,
        )

    @staticmethod
    def refund(data: dict) -> OrderRefunded:
        transactions = [
            t
            for t in data.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status") in (None, "success")
        ]
        amount = sum((money_of(t.get("amount"), "transactions.amount") for t in transactions), Decimal(0))
        currency = next((t.get("currency") for t in transactions if t.get("currency")), None)
        if currency is None:
            raise errors.MalformedWebhook("the refund has no successful refund transaction with a currency")
        return OrderRefunded(
            order_id=id_of(data["order_id"], "order_id"),
            refund_id=id_of(data["id"], "id"),
            amount=amount,
            currency=currency,
            occurred_at=_when(data.get("processed_at") or data.get("created_at")),
        )


@hookimpl
def register_storefronts(register):
    register(Shopify())
