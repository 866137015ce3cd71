"""The storefronts' published signature test vectors, verified through the adapters."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from loyalty import errors
from loyalty.plugins.storefronts.shopify import Shopify
from loyalty.plugins.storefronts.standard_webhooks import StandardWebhooks
from loyalty.plugins.storefronts.stripe_payments import Stripe
from loyalty.storefronts.adapters import WebhookRequest
from tests.helpers.webhooks import fixture, fixture_bytes

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

SHOPIFY_VECTORS = [v for v in fixture("shopify/hmac_vectors.json") if v["kind"] == "webhook_body"]
STANDARD_VECTORS = fixture("standard_webhooks/vectors.json")
(STRIPE_VECTOR,) = fixture("stripe/signature_vectors.json")


@pytest.mark.parametrize("vector", SHOPIFY_VECTORS, ids=lambda v: v["source"]["repo"])
def test_shopify_vectors(vector):
    body = vector["body"].encode()
    Shopify().verify(WebhookRequest({"X-Shopify-Hmac-Sha256": vector["hmac"]}, body, NOW), vector["secret"])
    with pytest.raises(errors.SignatureInvalid):
        Shopify().verify(WebhookRequest({"X-Shopify-Hmac-Sha256": vector["hmac"]}, body + b" ", NOW), vector["secret"])
    with pytest.raises(errors.SignatureInvalid):
        Shopify().verify(WebhookRequest({"X-Shopify-Hmac-Sha256": vector["hmac"]}, body, NOW), vector["secret"] + "x")


def _standard(vector, *, at=None, signature=None):
    headers = {
        "webhook-id": vector["id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": signature or vector["signature"],
    }
    received = datetime.fromtimestamp(at if at is not None else vector["timestamp"], tz=timezone.utc)
    return WebhookRequest(headers, vector["payload"].encode(), received)


@pytest.mark.parametrize("vector", STANDARD_VECTORS, ids=lambda v: v["id"])
def test_standard_webhooks_vectors(vector):
    adapter = StandardWebhooks()
    adapter.verify(_standard(vector), vector["secret"])
    # Several signatures during a secret rotation: one match is enough.
    adapter.verify(_standard(vector, signature=f"v1,bm90IHRoaXMgb25l {vector['signature']}"), vector["secret"])
    with pytest.raises(errors.SignatureInvalid, match="away from now"):
        adapter.verify(_standard(vector, at=vector["timestamp"] + 301), vector["secret"])
    adapter.verify(_standard(vector, at=vector["timestamp"] + 299), vector["secret"])
    with pytest.raises(errors.SignatureInvalid, match="no webhook-signature matches"):
        adapter.verify(_standard(vector, signature="v1,AAAA"), vector["secret"])
    with pytest.raises(errors.SignatureInvalid, match="no webhook-signature matches"):
        adapter.verify(_standard(vector, signature=vector["signature"].replace("v1,", "v2,")), vector["secret"])


def _stripe(body, at):
    return WebhookRequest(
        {"Stripe-Signature": STRIPE_VECTOR["header"]},
        body,
        datetime.fromtimestamp(STRIPE_VECTOR["timestamp"] + at, tz=timezone.utc),
    )


def test_stripe_vector_with_the_stripe_library():
    body = fixture_bytes(STRIPE_VECTOR["payload_file"])
    assert body.decode() == STRIPE_VECTOR["payload"]
    # The vector's own check: received 100 s after signing, tolerance 300 s.
    Stripe().verify(_stripe(body, 100), STRIPE_VECTOR["secret"])
    with pytest.raises(errors.SignatureInvalid):
        Stripe().verify(_stripe(body.replace(b"cus_123", b"cus_124"), 100), STRIPE_VECTOR["secret"])
    with pytest.raises(errors.SignatureInvalid, match="tolerance"):
        Stripe().verify(_stripe(body, 301), STRIPE_VECTOR["secret"])


def test_stripe_signatures_dated_in_the_future_are_refused():
    """The library checks only the past: a signature dated ahead is refused like a stale one (issue 15, item 6)."""
    body = fixture_bytes(STRIPE_VECTOR["payload_file"])
    Stripe().verify(_stripe(body, -299), STRIPE_VECTOR["secret"])
    for ahead in (301, 600, 10**6):
        with pytest.raises(errors.SignatureInvalid, match="tolerance"):
            Stripe().verify(_stripe(body, -ahead), STRIPE_VECTOR["secret"])


def test_a_stripe_body_that_is_not_utf8_is_refused():
    with pytest.raises(errors.SignatureInvalid, match="UTF-8"):
        Stripe().verify(
            _stripe(b"\xff\xfe" + fixture_bytes(STRIPE_VECTOR["payload_file"]), 100), STRIPE_VECTOR["secret"]
        )


def test_stripe_vector_parses_to_a_new_customer(monkeypatch):
    body = fixture_bytes(STRIPE_VECTOR["payload_file"])
    (event,) = Stripe().parse(WebhookRequest({}, body, NOW))
    assert (event.customer.external_id, event.customer.email) == ("cus_123", "test@stripe.com")
    assert json.loads(body)["type"] == "customer.created"
