"""``loyalty storefronts`` and ``loyalty inbox``."""

from __future__ import annotations

import json

from tests.helpers.cli import fails, ok
from tests.helpers.webhooks import fixture_bytes, shopify_headers


def test_connect_list_and_rotate(runner, program):
    added = ok(runner, "storefronts", "add", "--program", "acme", "--type", "shopify", "--secret", "first-secret-123")
    assert "first-secret-123" not in added and "fi…-123" in added
    assert "POST /webhooks/acme/shopify" in added
    ok(runner, "storefronts", "add", "--program", "acme", "--type", "shopify", "--secret", "second-secret-456")
    listed = ok(runner, "storefronts", "list", "--program", "acme")
    assert listed.count("shopify") == 2 and "se…-456" in listed  # one row (and its URL), the new secret


def test_refused_connections(runner, program):
    assert "no storefront adapter 'magento'" in fails(
        runner, "storefronts", "add", "--program", "acme", "--type", "magento", "--secret", "long-enough-1"
    )
    assert "at least 8" in fails(
        runner, "storefronts", "add", "--program", "acme", "--type", "shopify", "--secret", "short"
    )


def test_inbox_list_show_replay_retry(app, runner, program):
    ok(runner, "storefronts", "add", "--program", "acme", "--type", "shopify", "--secret", "inbox-secret-1")
    client = app.test_client()
    cancel = json.dumps({"id": 777, "cancelled_at": None}).encode()
    response = client.post(
        "/webhooks/acme/shopify",
        data=cancel,
        headers=shopify_headers(cancel, "orders/cancelled", secret="inbox-secret-1"),
    )
    assert response.status_code == 202
    body = fixture_bytes("shopify/customer.json")
    client.post(
        "/webhooks/acme/shopify", data=body, headers=shopify_headers(body, "customers/create", secret="inbox-secret-1")
    )
    listed = ok(runner, "inbox", "list")
    assert "orders/cancelled" in listed and "deferred" in listed and "order_not_found" in listed
    assert "customers/create" in listed and "processed" in listed
    deferred = ok(runner, "inbox", "list", "--status", "deferred")
    assert "customers/create" not in deferred
    delivery_id = deferred.split()[0]
    shown = ok(runner, "inbox", "show", delivery_id)
    assert "Next attempt" in shown and '"id": 777' in shown and "Hmac" not in shown
    assert "Retried 0 deliveries." in ok(runner, "inbox", "retry")
    assert "failed (order_not_found" in ok(runner, "inbox", "replay", delivery_id)
    assert "not_found" in fails(runner, "inbox", "replay", "99999")
