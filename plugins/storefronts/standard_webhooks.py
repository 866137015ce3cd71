"""Standard Webhooks (standardwebhooks.com): any shop or middleware that signs this way.

Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``;
the signature is ``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``
keyed with the base64-decoded part of a ``whsec_`` secret. The signature
header may carry several (space-separated) during a secret rotation: one
match is enough. Timestamps more than five minutes from the time of
receipt are refused (replay protection).

The body is one of the platform's normalized events as JSON (the format
in docs/plugins.md), e.g. ``{"type": "order_paid", ...}``.
"""

from __future__ import annotations

import base64
import binascii

from loyalty.plugin_api import (
    StorefrontAdapter,
    check_timestamp,
    errors,
    hmac_sha256,
    hookimpl,
    load_event,
    same,
)

TOLERANCE_SECONDS = 5 * 60


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (the base64 part, decoded)."""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise errors.SignatureInvalid("the configured secret is not a valid whsec_ secret") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of a delivery (used by tests and the demo to send real ones)."""
    message = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac_sha256(secret_key(secret), message)).decode()


class StandardWebhooks(StorefrontAdapter):
    name = "standard_webhooks"
    title = "Standard Webhooks (generic)"
    stored_headers = ("webhook-id", "webhook-timestamp")

    def verify(self, request, secret):
        msg_id = request.header("webhook-id")
        timestamp = request.header("webhook-timestamp")
        signatures = request.header("webhook-signature")
        if not (msg_id and timestamp and signatures):
            raise errors.SignatureInvalid("missing webhook-id, webhook-timestamp or webhook-signature header")
        try:
            sent = int(timestamp)
        except ValueError:
            raise errors.SignatureInvalid("webhook-timestamp is not a Unix timestamp") from None
        check_timestamp(request, sent, TOLERANCE_SECONDS, "webhook-timestamp")
        expected = base64.b64decode(sign(secret, msg_id, sent, request.body)[3:])
        for candidate in signatures.split():
            version, _, value = candidate.partition(",")
            if version != "v1":
                continue
            try:
                if same(expected, base64.b64decode(value, validate=True)):
                    return
            except (binascii.Error, ValueError):
                continue
        raise errors.SignatureInvalid("no webhook-signature matches")

    def delivery_id(self, request):
        return request.header("webhook-id")

    def topic(self, request):
        data = request.json()
        return str(data.get("type", "")) if isinstance(data, dict) else ""

    def parse(self, request):
        data = request.json()
        if isinstance(data, dict) and data.get("type") in (
            "order_paid",
            "order_refunded",
            "order_cancelled",
            "customer_created",
            "custom_event",
        ):
            if data["type"] == "order_paid" and "origin" not in data:
                data = {**data, "origin": "standard_webhooks"}
            return [load_event(data)]
        return []


@hookimpl
def register_storefronts(register):
    register(StandardWebhooks())
