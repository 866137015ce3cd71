"""Tests for the example storefront adapter, written with the kit the platform ships (loyalty.testing)."""

import hashlib
import hmac
import json

import loyalty_tinyshop
import pytest

ORDER = {
    "id": 17,
    "currency": "USD",
    "total": "42.00",
    "customer": {"id": 5, "email": "ann@example.com"},
    "items": [{"sku": "BEANS", "qty": 2, "total": "42.00"}],
}


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_tinyshop]


def tinyshop(topic, delivery="d-1"):
    """Sign as Tinyshop does: the kit's ``loyalty_deliver`` calls this with the body, the secret and the time."""

    def sign(body, secret, now):
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {
            "X-Tinyshop-Signature": f"sha256={digest}",
            "X-Tinyshop-Delivery": delivery,
            "X-Tinyshop-Topic": topic,
            "Content-Type": "application/json",
        }

    return sign


@pytest.fixture
def shop(loyalty_connect_store, loyalty_add_rule):
    loyalty_add_rule("points_per_currency", {"points_per_unit": "1"})
    loyalty_connect_store("tinyshop", secret="tinyshop-secret")


def test_a_paid_order_earns_once(shop, loyalty_deliver, loyalty_balance):
    first = loyalty_deliver("tinyshop", ORDER, sign=tinyshop("order.paid"))
    assert first.status_code == 200 and first.json["status"] == "processed"
    again = loyalty_deliver("tinyshop", ORDER, sign=tinyshop("order.paid"))  # the store retries the delivery
    assert again.json["status"] == "duplicate"
    assert loyalty_balance("5") == 42


def test_a_refund_takes_points_back(shop, loyalty_deliver, loyalty_balance):
    loyalty_deliver("tinyshop", ORDER, sign=tinyshop("order.paid"))
    refund = {"order_id": 17, "refund_id": 1, "amount": "10.00", "currency": "USD"}
    assert loyalty_deliver("tinyshop", refund, sign=tinyshop("order.refunded", "d-2")).json["status"] == "processed"
    assert loyalty_balance("5") == 32


def test_a_bad_signature_is_refused_and_nothing_is_stored(shop, loyalty_deliver):
    forged = loyalty_deliver(
        "tinyshop", ORDER, sign=tinyshop("order.paid"), headers={"X-Tinyshop-Signature": "sha256=" + "0" * 64}
    )
    assert forged.status_code == 401


def test_a_malformed_order_is_refused(shop, loyalty_deliver):
    body = json.dumps({**ORDER, "total": "1,5"}).encode()
    answer = loyalty_deliver("tinyshop", body, sign=tinyshop("order.paid"))
    assert answer.status_code == 400 and "total" in answer.json["message"]


def test_other_topics_are_ignored(shop, loyalty_deliver):
    assert loyalty_deliver("tinyshop", {"id": 3}, sign=tinyshop("product.updated")).json["status"] == "ignored"
