"""The kit for storefront adapters: connect a store, and deliver a webhook signed exactly as the store signs it.

The signatures are computed here with :mod:`hmac`, the way each store
documents them, not with the stores' own libraries (those are not all
dependencies of the platform); the platform's tests cross-check these
against the official ``stripe`` and ``standardwebhooks`` libraries.

* Shopify: ``X-Shopify-Hmac-Sha256``, base64 of HMAC-SHA256(secret, body);
* WooCommerce: ``X-WC-Webhook-Signature``, the same over the body;
* Stripe: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
* Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<t>.<body>")>``,
  the key being the base64 part of the ``whsec_`` secret.

A plugin's own adapter signs its own way: pass ``sign=`` to
``loyalty_deliver``, a function ``(body, secret, now) -> headers``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import datetime

import pytest

#: The secret each built-in store is connected with, unless a test gives another.
STORE_SECRETS = {
    "shopify": "shpss_test_secret_0123456789",
    "woocommerce": "wc_test_secret_0123456789",
    "stripe": "whsec_stripe_test_secret_0123",
    "standard_webhooks": "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32by").decode(),
}


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def shopify_headers(
    body: bytes,
    topic: str,
    secret: str = STORE_SECRETS["shopify"],
    *,
    webhook_id: str | None = None,
    shop: str = "acme.myshopify.com",
) -> dict:
    """The headers Shopify sends with ``body`` on ``topic`` (``orders/paid``, ``refunds/create``, ...)."""
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": _b64_hmac(secret.encode(), body),
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": shop,
        "Content-Type": "application/json",
    }


def woocommerce_headers(
    body: bytes,
    topic: str,
    secret: str = STORE_SECRETS["woocommerce"],
    *,
    delivery_id: str | None = None,
    source: str = "https://shop.example.com/",
) -> dict:
    """The headers WooCommerce sends with ``body`` on ``topic`` (``order.updated``, ``customer.created``, ...)."""
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": _b64_hmac(secret.encode(), body),
        "X-WC-Webhook-Delivery-ID": delivery_id or str(uuid.uuid4().int % 10**8),
        "X-WC-Webhook-Source": source,
        "Content-Type": "application/json",
    }


def stripe_headers(body: bytes, secret: str = STORE_SECRETS["stripe"], *, timestamp: int) -> dict:
    """The headers Stripe sends with an event ``body`` signed at ``timestamp`` (Unix seconds)."""
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def standard_webhooks_headers(
    body: bytes, secret: str = STORE_SECRETS["standard_webhooks"], *, timestamp: int, msg_id: str | None = None
) -> dict:
    """The headers a Standard Webhooks sender sends with ``body`` signed at ``timestamp`` (Unix seconds)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = _b64_hmac(key, f"{msg_id}.{timestamp}.".encode() + body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
        "Content-Type": "application/json",
    }


def signed_headers(
    store: str, body: bytes, secret: str, now: datetime, *, topic: str | None = None, delivery_id: str | None = None
) -> dict:
    """The headers built-in ``store`` sends with ``body``, signed with ``secret`` at ``now``.

    ``topic`` is needed for Shopify and WooCommerce (their topic is a
    header; Stripe's and Standard Webhooks' is in the body);
    ``delivery_id`` fixes the store's id of the delivery (default: a new
    one), to send the same delivery twice.
    """
    timestamp = int(now.timestamp())
    if store == "shopify":
        return shopify_headers(body, topic or "orders/paid", secret, webhook_id=delivery_id)
    if store == "woocommerce":
        return woocommerce_headers(body, topic or "order.updated", secret, delivery_id=delivery_id)
    if store == "stripe":
        return stripe_headers(body, secret, timestamp=timestamp)
    if store == "standard_webhooks":
        return standard_webhooks_headers(body, secret, timestamp=timestamp, msg_id=delivery_id)
    raise ValueError(f"the kit does not know how {store!r} signs: pass sign=(body, secret, now) -> headers")


@pytest.fixture
def loyalty_connect_store(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_connect_store("shopify")`` connects a store to the program → the connection.

    The secret defaults to :data:`STORE_SECRETS`'s (``"<type>-test-secret"``
    for a plugin's own store); ``api_key=`` for stores the platform calls
    back (a Stripe reward).
    """
    from loyalty.storefronts.connections import add_storefront

    def connect(type: str, *, secret: str | None = None, api_key: str | None = None, program=None):
        connection = add_storefront(
            loyalty_session,
            program or loyalty_program,
            loyalty_registry,
            type=type,
            secret=secret or STORE_SECRETS.get(type, f"{type}-test-secret"),
            api_key=api_key,
            clock=loyalty_clock,
        )
        loyalty_session.commit()
        return connection

    return connect


@pytest.fixture
def loyalty_deliver(loyalty_app, loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_deliver("shopify", body, topic="orders/paid")`` posts a signed delivery → the HTTP response.

    ``body`` is bytes, or a dict or list sent as JSON. It is signed with the
    connected store's secret at the kit's clock, as :func:`signed_headers`
    does for the built-in stores, or by ``sign(body, secret, now) -> headers``
    for a plugin's own adapter; ``headers=`` are added (or override).
    The response is the intake's answer: ``response.json["status"]`` is
    ``processed``, ``ignored``, ``duplicate``, ``deferred`` or ``failed``.
    """
    from loyalty.storefronts.connections import find_storefront

    client = loyalty_app.test_client()

    def deliver(
        store: str,
        body,
        *,
        topic: str | None = None,
        delivery_id: str | None = None,
        sign: Callable[[bytes, str, datetime], dict] | None = None,
        headers: dict | None = None,
        program=None,
    ):
        target = program or loyalty_program
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        connection = find_storefront(loyalty_session, target, store)
        if connection is None:
            raise LookupError(f"no {store!r} store is connected to {target.slug}: call loyalty_connect_store first")
        now = loyalty_clock.now()
        signed = (
            sign(raw, connection.secret, now)
            if sign is not None
            else signed_headers(store, raw, connection.secret, now, topic=topic, delivery_id=delivery_id)
        )
        return client.post(f"/webhooks/{target.slug}/{store}", data=raw, headers={**signed, **(headers or {})})

    return deliver
