"""WooCommerce webhooks: base64 HMAC-SHA256 of the raw body in ``X-WC-Webhook-Signature``.

Topics used: ``order.created`` / ``order.updated`` (an order in
``processing`` or ``completed`` is paid; ``cancelled`` cancels; each entry
of its ``refunds`` list is a refund, so a store that only sends
``order.updated`` still claws back), ``customer.created``. When a webhook
is created WooCommerce sends an unsigned ping (``webhook_id=…``): it is
answered 200 and not stored. Guest orders (``customer_id`` 0) earn nothing.

Referrals: a member's code may come as a coupon or as order meta data
(``ref``, ``referral_code``, ``_referral_code``, as a referral plugin or a
checkout field saves it); ``customer_ip_address`` and the shipping address
go to the fraud checks.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from decimal import Decimal

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

PAID = {"processing", "completed"}


def _when(value) -> datetime | None:
    """WooCommerce's ``*_gmt`` fields are UTC without a zone."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class WooCommerce(StorefrontAdapter):
    name = "woocommerce"
    title = "WooCommerce"
    stored_headers = ("x-wc-webhook-topic", "x-wc-webhook-source", "x-wc-webhook-delivery-id", "x-wc-webhook-id")

    def is_ping(self, request):
        return request.header("X-WC-Webhook-Signature") is None and request.body.startswith(b"webhook_id=")

    def verify(self, request, secret):
        given = request.header("X-WC-Webhook-Signature")
        if not given:
            raise errors.SignatureInvalid("missing X-WC-Webhook-Signature header")
        try:
            signature = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            raise errors.SignatureInvalid("X-WC-Webhook-Signature is not base64") from None
        if not same(hmac_sha256(secret.encode(), request.body), signature):
            raise errors.SignatureInvalid("the WooCommerce signature does not match")

    def delivery_id(self, request):
        return request.header("X-WC-Webhook-Delivery-ID")

    def topic(self, request):
        return request.header("X-WC-Webhook-Topic") or ""

    def parse(self, request):
        topic, data = self.topic(request), request.json()
        if not isinstance(data, dict):
            raise errors.MalformedWebhook("a WooCommerce webhook body is a JSON object")
        try:
            if topic in ("order.created", "order.updated"):
                return self.order_events(data)
            if topic == "customer.created" and data.get("id"):
                name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or None
                customer = Customer(id_of(data["id"], "id"), data.get("email") or None, name)
                return [CustomerCreated(customer, occurred_at=_when(data.get("date_created_gmt")))]
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise errors.MalformedWebhook(
                f"unexpected WooCommerce {topic} payload: {type(exc).__name__}: {exc}"
            ) from None
        return []

    def order_events(self, data: dict) -> list:
        order_id, status = id_of(data["id"], "id"), data.get("status")
        if status == "cancelled":
            return [OrderCancelled(order_id, occurred_at=_when(data.get("date_modified_gmt")))]
        events = []
        if status in PAID or data.get("refunds"):
            events.append(self.paid(data))
        for refund in data.get("refunds") or []:
            events.append(
                OrderRefunded(
                    order_id=order_id,
                    refund_id=id_of(refund["id"], "refunds.id"),
                    amount=abs(money_of(refund["total"], "refunds.total")),
                    currency=data["currency"],
                    occurred_at=_when(data.get("date_modified_gmt")),
                )
            )
        return events

    @staticmethod
    def paid(data: dict) -> OrderPaid:
        customer = None
        if data.get("customer_id"):
            billing = data.get("billing") or {}
            name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p) or None
            customer = Customer(id_of(data["customer_id"], "customer_id"), billing.get("email") or None, name)
        items = data.get("line_items") or []
        meta = {m["key"]: m.get("value") for m in data.get("meta_data") or [] if isinstance(m, dict) and m.get("key")}
        shipping = data.get("shipping") or {}
        return OrderPaid(
            order_id=id_of(data["id"], "id"),
            customer=customer,
            currency=data["currency"],
            subtotal=sum((money_of(i.get("subtotal"), "line_items.subtotal") for i in items), Decimal(0)),
            discount=money_of(data.get("discount_total"), "discount_total"),
            tax=money_of(data.get("total_tax"), "total_tax"),
            shipping=money_of(data.get("shipping_total"), "shipping_total"),
            total=money_of(data["total"], "total"),
            lines=tuple(
                Line(
                    id=id_of(i["id"], "line_items.id"),
                    title=i.get("name") or "",
                    quantity=count_of(i.get("quantity"), "line_items.quantity"),
                    total=money_of(i.get("total"), "line_items.total"),
                    product_id=id_of(i["product_id"], "line_items.product_id") if i.get("product_id") else None,
                    sku=i.get("sku") or None,
                )
                for i in items
            ),
            discount_codes=tuple(c["code"] for c in data.get("coupon_lines") or [] if c.get("code")),
            occurred_at=_when(data.get("date_paid_gmt") or data.get("date_created_gmt")),
            origin="woocommerce",
            referral=referral_mark(meta, "meta_data"),
            client_ip=data.get("customer_ip_address") or None,
            shipping_address=Address(
                shipping.get("address_1"),
                shipping.get("address_2"),
                shipping.get("city"),
                shipping.get("postcode"),
                shipping.get("country"),
            )
            if shipping
            else None,
        )


@hookimpl
def register_storefronts(register):
    register(WooCommerce())
