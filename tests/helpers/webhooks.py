"""Signing webhooks the way each store does, for the tests.

Shopify and WooCommerce are signed by the kit (:mod:`loyalty.testing.stores`,
plain HMAC as they document it); Stripe and Standard Webhooks here by the
official ``stripe`` and ``standardwebhooks`` libraries, so that the suite
checks the adapters against the stores' own code, and test_kit.py checks
the kit's signing against the same libraries.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from loyalty import testing
from loyalty.testing import START, STORE_SECRETS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

#: The kit's secrets: the suite connects the stores with the same ones as plugin authors' tests.
SECRETS = STORE_SECRETS


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture(name: str):
    data = json.loads(fixture_bytes(name))
    return data


def shopify_headers(body: bytes, topic: str, *, secret=SECRETS["shopify"], webhook_id=None) -> dict:
    return testing.shopify_headers(body, topic, secret, webhook_id=webhook_id)


def woocommerce_headers(body: bytes, topic: str, *, secret=SECRETS["woocommerce"], delivery_id=None) -> dict:
    return testing.woocommerce_headers(body, topic, secret, delivery_id=delivery_id)


def stripe_headers(body: bytes, *, secret=SECRETS["stripe"], timestamp=None) -> dict:
    """Signed by the stripe library's own signing code, dated ``timestamp`` (default: the tests' frozen clock)."""
    import stripe

    timestamp = int(timestamp if timestamp is not None else START.timestamp())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body.decode()}", secret)
    return {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def standard_headers(body: bytes, timestamp: int, *, secret=SECRETS["standard_webhooks"], msg_id=None) -> dict:
    """Signed by the standardwebhooks library (the reference implementation's Python package)."""
    from datetime import datetime, timezone

    from standardwebhooks.webhooks import Webhook

    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def stripe_event(kind: str, obj: dict, event_id: str | None = None) -> bytes:
    """A Stripe event envelope (the fixture's) around ``obj``."""
    envelope = fixture("stripe/event.json")
    envelope.update({"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "type": kind, "data": {"object": obj}})
    return json.dumps(envelope).encode()


def post_deliveries(client, program, deliveries) -> None:
    """Post ``(topic, body, webhook id)`` Shopify deliveries to a program's intake; each must be taken (200 or 202)."""
    for topic, body, webhook_id in deliveries:
        answer = client.post(
            f"/webhooks/{program.slug}/shopify", data=body, headers=shopify_headers(body, topic, webhook_id=webhook_id)
        )
        assert answer.status_code in (200, 202), answer.json


def shopify_delivery(step, n: int) -> tuple[str, bytes]:
    """A Shopify topic and body for one step of the worker-batch tests' sequences (``("paid", order, customer, amount, currency)``, ``("referred", order, customer, amount, code)``, ``("refund", ...)``, ``("cancel", order)``, ``("customer", n)``)."""
    kind = step[0]
    if kind == "referred":  # a paid order with a member's referral code as its discount code
        _, order, customer, amount, code = step
        topic, body = shopify_delivery(("paid", order, customer, amount, "USD"), n)
        return topic, json.dumps({**json.loads(body), "discount_codes": [{"code": code, "amount": "0.00"}]}).encode()
    if kind == "paid":
        _, order, customer, amount, currency = step
        return "orders/paid", json.dumps(
            {
                "id": 1000 + order,
                "currency": currency,
                "financial_status": "paid",
                "processed_at": "2026-11-01T10:00:00+00:00",
                "total_line_items_price": f"{amount}.00",
                "total_discounts": "0.00",
                "total_tax": "0.00",
                "total_price": f"{amount}.00",
                "customer": {"id": 500 + customer, "email": f"c{customer}@example.com"},
                "line_items": [{"id": 1, "title": "Beans", "quantity": 1, "price": f"{amount}.00", "product_id": 7}],
            }
        ).encode()
    if kind == "refund":
        _, order, refund, amount = step
        return "refunds/create", json.dumps(
            {
                "id": 7000 + refund,
                "order_id": 1000 + order,
                "created_at": "2026-11-02T10:00:00+00:00",
                "transactions": [{"kind": "refund", "status": "success", "amount": f"{amount}.00", "currency": "USD"}],
            }
        ).encode()
    if kind == "cancel":
        return "orders/cancelled", json.dumps({"id": 1000 + step[1], "cancelled_at": "2026-11-03T10:00:00Z"}).encode()
    return "customers/create", json.dumps({"id": 500 + step[1], "email": f"c{step[1]}@example.com"}).encode()
