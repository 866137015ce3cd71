"""The kit's fixtures as a plugin author's tests use them: run by tests/test_kit.py in a folder of its own.

Without the suite's conftest, so each fixture is the kit's own (a fresh
SQLite database per test, program ``test``), exactly what a plugin's
tests get.
"""

from __future__ import annotations

from loyalty.testing import order_paid


def test_tiers_and_a_scheme(loyalty_add_tier, loyalty_set_scheme, loyalty_recalculate, loyalty_member, loyalty_award):
    loyalty_add_tier("Silver", threshold="100")
    gold = loyalty_add_tier("Gold", threshold="500", earn_multiplier="2")
    loyalty_set_scheme("points_earned", {"window": "rolling", "window_days": 365})
    loyalty_award(loyalty_member, 600)
    assert loyalty_recalculate().upgraded == 1
    assert loyalty_member.tier == gold


def test_a_reward_redeemed_with_points(loyalty_add_reward, loyalty_redeem, loyalty_member):
    reward = loyalty_add_reward("fixed_amount_code", points=500, config={"amount": "5.00"})
    redemption = loyalty_redeem(loyalty_member, reward, fund=True)
    assert redemption.status == "issued" and redemption.code


def test_every_built_in_store_signed_as_it_signs(
    loyalty_connect_store, loyalty_deliver, loyalty_add_rule, loyalty_clock
):
    import json

    loyalty_add_rule("points_per_currency", {"points_per_unit": "1"})
    for store in ("shopify", "woocommerce", "stripe", "standard_webhooks"):
        loyalty_connect_store(store)
    order = {
        "type": "order_paid",
        "order_id": "sw-1",
        "currency": "USD",
        "subtotal": "10.00",
        "total": "10.00",
        "customer": {"external_id": "c-9"},
    }
    assert loyalty_deliver("standard_webhooks", order).json["status"] == "processed"
    assert (
        loyalty_deliver("shopify", {"id": 5, "email": "a@example.com"}, topic="customers/create").json["status"]
        == "processed"
    )
    assert (
        loyalty_deliver(
            "woocommerce", json.dumps({"id": 6, "email": "b@example.com"}).encode(), topic="customer.created"
        ).json["status"]
        == "processed"
    )
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "customer.created",
        "created": 1767268800,
        "data": {"object": {"id": "cus_1", "object": "customer", "email": "c@example.com"}},
    }
    assert loyalty_deliver("stripe", event).json["status"] == "processed"
    assert loyalty_deliver("shopify", b"{}", headers={"X-Shopify-Hmac-Sha256": "forged"}).status_code == 401


def test_a_plugins_own_signing(loyalty_connect_store, loyalty_deliver):
    loyalty_connect_store("standard_webhooks")
    response = loyalty_deliver("standard_webhooks", b"{}", sign=lambda body, secret, now: {"webhook-id": "m-1"})
    assert response.status_code == 401  # the adapter refuses what this signer sent


def test_the_api_with_a_key(loyalty_api, loyalty_member):
    answer = loyalty_api.get("/api/v1/members/c-1")
    assert answer.status_code == 200 and answer.json["external_id"] == "c-1"


def test_rules_and_events(loyalty_add_rule, loyalty_push):
    loyalty_add_rule("points_per_currency", {"points_per_unit": "1"})
    assert loyalty_push(order_paid("25.00")).points == 25


def test_a_referral_and_its_checks(loyalty_referral_terms, loyalty_refer, loyalty_member):
    loyalty_referral_terms(referrer_points=100)
    assert loyalty_refer(loyalty_member, "f-1", friend_email="friend@example.com").status == "pending"
    stopped = loyalty_refer(loyalty_member, "f-2", friend_email="c-1+again@example.com")
    assert stopped.status == "rejected" and stopped.reason
