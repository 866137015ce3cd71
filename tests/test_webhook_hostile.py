"""Hostile but validly signed deliveries: refused cleanly or failed with the reason, never a 500,
never left ``received``, never confused with another delivery (issue 15, items 1, 2, 6, 11)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from loyalty.earning.event_checks import UNSTORABLE
from loyalty.models import Entry, Order, WebhookDelivery
from tests.helpers import available, snapshot
from tests.helpers.intake import SHOPIFY_MEMBER, SHOPIFY_ORDER, client, post, shop  # noqa: F401 (fixtures)
from tests.helpers.webhooks import (
    fixture,
    fixture_bytes,
    shopify_headers,
    standard_headers,
    stripe_event,
    stripe_headers,
)


def deliveries(session) -> list[tuple[str, str]]:
    return session.execute(
        select(WebhookDelivery.delivery_id, WebhookDelivery.status).order_by(WebhookDelivery.id)
    ).all()


class TestLongDeliveryIds:
    """Item 1: two deliveries whose ids share their first 255 characters are two deliveries."""

    def test_standard_webhooks_ids_longer_than_255_characters(self, client, shop, session, clock):
        stem = "msg_" + "x" * 300
        now = int(clock.now().timestamp())
        for n in (1, 2):
            body = json.dumps(
                {
                    "type": "order_paid",
                    "order_id": f"long-{n}",
                    "currency": "USD",
                    "subtotal": "10.00",
                    "total": "10.00",
                    "customer": {"external_id": "sw-1"},
                }
            ).encode()
            response = post(client, "standard_webhooks", body, standard_headers(body, now, msg_id=f"{stem}{n}"))
            assert response.status_code == 200 and response.json["status"] == "processed", response.json
        assert available(session, shop, "sw-1") == 20
        # Stored whole: the readable id is the store's, not a prefix of it.
        assert [d for d, _ in deliveries(session)] == [f"{stem}1", f"{stem}2"]
        again = post(client, "standard_webhooks", body, standard_headers(body, now, msg_id=f"{stem}2"))
        assert again.json["status"] == "duplicate" and available(session, shop, "sw-1") == 20

    def test_stripe_event_ids_longer_than_255_characters(self, client, shop, session):
        stem = "evt_" + "a" * 300
        for n in (1, 2):
            customer = {**fixture("stripe/customer.json"), "id": f"cus_long{n}"}
            body = stripe_event("customer.created", customer, event_id=f"{stem}{n}")
            assert post(client, "stripe", body, stripe_headers(body)).json["status"] == "processed"
        assert len(deliveries(session)) == 2


# --- item 2: signed deliveries that cannot be read or stored ------------------------------------------


DEEP = "__nested_5000_deep__"
HUGE = "__1e999999__"


def raw_json(body_obj) -> bytes:
    """JSON text; ``DEEP`` becomes JSON nested 5,000 deep (more than json.dumps can write), ``HUGE`` the number 1e999999."""
    text = json.dumps(body_obj).replace(json.dumps(DEEP), '{"a":' * 5000 + '"deep"' + "}" * 5000)
    return text.replace(json.dumps(HUGE), "1e999999").encode()


def shopify(body_obj, topic="orders/paid"):
    body = raw_json(body_obj)
    return body, shopify_headers(body, topic)


def order_with(**changes):
    order = json.loads(fixture_bytes("shopify/order_discount_code_paid.json"))
    for path, value in changes.items():
        target = order
        *parents, last = path.split("__")
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return order


def nested(depth: int) -> dict:
    value: object = "deep"
    for _ in range(depth):
        value = {"a": value}
    return value


UNREADABLE_SHOPIFY = {
    "amount beyond Decimal's precision": order_with(total_price="1e999999"),
    "amount beyond 64-bit minor units": order_with(total_price="99999999999999999999.99"),
    "a line's amount beyond Decimal's precision": order_with(line_items__0__price="1E+400"),
    "a customer id longer than its column": order_with(customer__id="9" * 300),
    "an order id longer than its column": order_with(id="1" * 300),
    "an order id with a NUL character": order_with(id="1001\x00"),
    "a numeric currency": order_with(currency=840),
    "a null currency": order_with(currency=None),
    "a discount code given as an object": order_with(discount_codes=[{"code": {"nested": "object"}}]),
    "note attributes nested thousands deep": order_with(note_attributes=[{"name": "ref", "value": DEEP}]),
    "a timestamp without a zone": order_with(processed_at="2024-01-01T10:00:00", created_at="2024-01-01T10:00:00"),
    "a timestamp in year 9999": order_with(processed_at="9999-12-31T23:59:59-14:00"),
    "line items given as an object": order_with(line_items={"id": 1}),
    "a quantity beyond a billion": order_with(line_items__0__quantity=10**12),
    # Found by trying the platform as an attacker (issue 15's last round):
    "an order id that is an object": order_with(id={"a": 1}),
    "an order id that is a list": order_with(id=[1, 2]),
    "an order id that is true": order_with(id=True),
    "an order id that is a fraction": order_with(id=1.5),
    "a price written 1_000": order_with(line_items__0__price="1_000"),
    "a price with spaces": order_with(total_price=" 12 "),
    "a price that is NaN": order_with(total_price="NaN"),
    "a customer id with an unpaired surrogate": order_with(customer__id="cust-\ud800"),
    "a quantity of 1e999999": order_with(line_items__0__quantity=HUGE),
}


class TestUnreadable:
    """Validly signed, but not something the platform can read: 400 before anything is stored."""

    @pytest.mark.parametrize("case", UNREADABLE_SHOPIFY, ids=list(UNREADABLE_SHOPIFY))
    def test_shopify(self, client, shop, session, case):
        before = snapshot(session)
        response = post(client, "shopify", *shopify(UNREADABLE_SHOPIFY[case]))
        assert response.status_code == 400, response.json
        assert response.json["code"] == "malformed_webhook" and response.json["message"]
        assert snapshot(session) == before and deliveries(session) == []

    def test_a_body_nested_thousands_deep(self, client, shop, session):
        body = b"[" * 100_000 + b"]" * 100_000
        response = post(client, "shopify", body, shopify_headers(body, "orders/paid"))
        assert response.status_code == 400 and "nested too deeply" in response.json["message"]
        assert deliveries(session) == []

    @pytest.mark.parametrize(
        "change",
        [
            {"data": ["a", "list"]},
            {"data": {"object": {**fixture("stripe/payment_intent.json"), "currency": 840}}},
            {
                "data": {
                    "object": {**fixture("stripe/payment_intent.json"), "currency": "usd", "amount_received": 10**30}
                }
            },
            {
                "data": {
                    "object": {
                        **fixture("stripe/payment_intent.json"),
                        "currency": "usd",
                        "amount_received": 500,
                        "customer": ["cus_1"],
                    }
                }
            },
            {"id": "evt_\x00"},
            {"id": {"an": "object"}},
            {"data": {"object": {**fixture("stripe/payment_intent.json"), "currency": "usd", "amount_received": HUGE}}},
            {"data": {"object": {**fixture("stripe/payment_intent.json"), "currency": "usd", "amount_received": 2.5}}},
            {
                "data": {
                    "object": {**fixture("stripe/payment_intent.json"), "currency": "usd", "amount_received": "2500"}
                }
            },
            {
                "data": {
                    "object": {
                        **fixture("stripe/payment_intent.json"),
                        "currency": "usd",
                        "amount_received": 500,
                        "customer": "cus_\ud800",
                    }
                }
            },
            {"id": "evt_\udfff"},
        ],
        ids=[
            "data is a list",
            "numeric currency",
            "amount beyond 64 bits",
            "customer is a list",
            "NUL in the event id",
            "event id is an object",
            "amount 1e999999",
            "amount 2.5",
            "amount as text",
            "unpaired surrogate in the customer",
            "unpaired surrogate in the event id",
        ],
    )
    def test_stripe(self, client, shop, session, change):
        event = json.loads(stripe_event("payment_intent.succeeded", {}))
        event.update(change)
        body = raw_json(event)
        response = post(client, "stripe", body, stripe_headers(body))
        assert response.status_code == 400, response.json
        assert deliveries(session) == []

    @pytest.mark.parametrize(
        "change",
        [
            {"order_id": "x" * 300},
            {"customer": {"external_id": "c\x00"}},
            {"total": "1e999999", "subtotal": "1e999999"},
            {"attributes": nested(200)},
            {"customer": {"external_id": "sw-\ud800"}},
        ],
        ids=[
            "order id too long",
            "NUL in a customer id",
            "amount beyond precision",
            "attributes nested 200 deep",
            "unpaired surrogate in a customer id",
        ],
    )
    def test_standard_webhooks(self, client, shop, session, clock, change):
        body = json.dumps(
            {
                "type": "order_paid",
                "order_id": "sw-1",
                "currency": "USD",
                "subtotal": "10.00",
                "total": "10.00",
                "customer": {"external_id": "sw-c"},
                **change,
            }
        ).encode()
        response = post(client, "standard_webhooks", body, standard_headers(body, int(clock.now().timestamp())))
        assert response.status_code == 400, response.json
        assert deliveries(session) == []


class TestHarmlessTextIsCut:
    """Over-long or NUL-bearing text that names nothing is cleaned, and the order still earns."""

    def test_long_names_nul_characters_and_an_impossible_email(self, client, shop, session):
        order = order_with(customer__first_name="Ann\x00" + "n" * 5000, customer__email="x" * 400 + "@example.com")
        order["line_items"][0]["title"] = "Mug\x00\ud800" * 1000
        order["note_attributes"] = [{"name": "gift\x00", "value": "yes\x00\udfff"}]
        order["customer"]["last_name"] = "Smith\ud800"
        response = post(client, "shopify", *shopify(order))
        assert response.status_code == 200 and response.json["status"] == "processed", response.json
        from loyalty.programs.members import get_member

        member = get_member(session, shop, SHOPIFY_MEMBER)
        assert member.name.startswith("Annn") and len(member.name) == 255 and "\x00" not in member.name
        assert not UNSTORABLE.search(member.name)
        assert member.email is None  # 400 characters cannot be an address: kept as none, the order earns
        stored = session.scalar(select(Order))
        assert "\x00" not in json.dumps(stored.lines) + json.dumps(stored.attributes)
        assert stored.attributes == {"gift": "yes"} and not UNSTORABLE.search(stored.lines[0]["title"])
        assert available(session, shop, SHOPIFY_MEMBER) > 0


# --- item 11: a refund larger than what is left of the order ----------------------------------------


def shopify_refund(amount: str, refund_id: int):
    refund = json.loads(fixture_bytes("shopify/refund_created.json"))
    refund.update({"id": refund_id, "order_id": SHOPIFY_ORDER["id"]})
    refund["transactions"][0]["amount"] = amount
    return shopify(refund, "refunds/create")


class TestOverRefund:
    def test_a_refund_beyond_what_is_left_records_what_is_left_and_says_so(self, client, shop, session, runner):
        post(client, "shopify", *shopify(SHOPIFY_ORDER))
        earned = available(session, shop, SHOPIFY_MEMBER)
        first = post(client, "shopify", *shopify_refund("150.00", 1))
        assert first.json["status"] == "processed" and "note" not in first.json
        second = post(client, "shopify", *shopify_refund("100.00", 2))
        assert second.json["status"] == "processed"
        assert "more than order" in second.json["note"] and "recorded 31.09" in second.json["note"]
        order = session.scalar(select(Order))
        assert (order.refunded_minor, order.total_minor, order.status) == (18109, 18109, "refunded")
        assert available(session, shop, SHOPIFY_MEMBER) == 0 < earned
        stored = session.scalar(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()))
        assert stored.status == "processed" and "recorded 31.09" in stored.note
        assert (
            "Note: refund 2 of 100.00 USD is more than order"
            in runner.invoke(args=["inbox", "show", str(stored.id)]).output
        )
        # Once nothing is left, a further refund records nothing, and says so.
        third = post(client, "shopify", *shopify_refund("5.00", 3))
        assert third.json["status"] == "processed" and "nothing recorded" in third.json["note"]
        assert session.scalar(select(Order.refunded_minor)) == 18109
        assert session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "reverse")) >= 1


@pytest.mark.parametrize("path", ["ac%00me/shopify", "acme/shop%00ify", "%00/%00", "acme/" + "s" * 5000])
def test_hostile_paths_are_unknown_storefronts(client, shop, session, path):
    body = fixture_bytes("shopify/order_discount_code_paid.json")
    response = client.post(f"/webhooks/{path}", data=body, headers=shopify_headers(body, "orders/paid"))
    assert response.status_code == 404 and response.json["code"] == "not_found"
    assert deliveries(session) == []
