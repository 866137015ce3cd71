"""Each storefront's fixtures, mapped to normalized events (money as Decimal in the order's currency)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from loyalty import errors
from loyalty.earning.events import CustomerCreated, OrderCancelled, OrderPaid, OrderRefunded
from loyalty.plugins.storefronts.shopify import Shopify
from loyalty.plugins.storefronts.stripe_payments import Stripe, from_stripe_amount
from loyalty.plugins.storefronts.woocommerce import WooCommerce
from loyalty.storefronts.adapters import WebhookRequest
from tests.helpers.webhooks import fixture, fixture_bytes, stripe_event

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def shopify(name, topic):
    return Shopify().parse(WebhookRequest({"X-Shopify-Topic": topic}, fixture_bytes(f"shopify/{name}"), NOW))


def woo(data, topic):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return WooCommerce().parse(WebhookRequest({"X-WC-Webhook-Topic": topic}, body, NOW))


class TestShopify:
    def test_paid_order(self):
        (event,) = shopify("order_discount_code_paid.json", "orders/paid")
        data = fixture("shopify/order_discount_code_paid.json")
        assert isinstance(event, OrderPaid)
        assert event.order_id == str(data["id"]) and event.currency == "USD" and event.origin == "shopify"
        assert event.total == Decimal(data["total_price"])
        assert event.discount == Decimal(data["total_discounts"]) and event.discount_codes == ("FAKE30",)
        assert event.customer.external_id == str(data["customer"]["id"])
        assert event.occurred_at.tzinfo is not None
        assert len(event.lines) == len(data["line_items"])

    def test_orders_create_that_is_not_paid_waits_for_orders_paid(self):
        data = fixture("shopify/order_discount_code_paid.json")
        data["financial_status"] = "pending"
        request = WebhookRequest({"X-Shopify-Topic": "orders/create"}, json.dumps(data).encode(), NOW)
        assert Shopify().parse(request) == []

    def test_guest_order(self):
        (event,) = shopify("order_guest_custom_line_items.json", "orders/paid")
        assert event.customer is None and all(line.product_id is None for line in event.lines)

    def test_line_totals_subtract_discount_allocations(self):
        (event,) = shopify("order.json", "orders/create")
        assert event.lines[0].total == Decimal("199.00") - Decimal("3.34")
        assert (event.subtotal, event.discount, event.tax, event.total) == (
            Decimal("597.00"),
            Decimal("10.00"),
            Decimal("11.94"),
            Decimal("598.94"),
        )

    @pytest.mark.parametrize("name, amount", [("refund.json", "209.00"), ("refund_created.json", "41.94")])
    def test_refunds(self, name, amount):
        (event,) = shopify(name, "refunds/create")
        data = fixture(f"shopify/{name}")
        assert isinstance(event, OrderRefunded)
        assert (event.order_id, event.refund_id, event.amount, event.currency) == (
            str(data["order_id"]),
            str(data["id"]),
            Decimal(amount),
            "USD",
        )

    def test_cancelled_and_customer(self):
        (cancelled,) = shopify("order.json", "orders/cancelled")
        assert isinstance(cancelled, OrderCancelled) and cancelled.order_id == "450789469"
        (created,) = shopify("customer.json", "customers/create")
        assert isinstance(created, CustomerCreated) and created.customer.external_id == "207119551"

    def test_unused_topic_and_malformed_body(self):
        assert shopify("order.json", "products/update") == []
        with pytest.raises(errors.MalformedWebhook):
            Shopify().parse(WebhookRequest({"X-Shopify-Topic": "orders/paid"}, b"[1, 2]", NOW))
        with pytest.raises(errors.MalformedWebhook):
            Shopify().parse(WebhookRequest({"X-Shopify-Topic": "orders/paid"}, b'{"id": 1}', NOW))


class TestWooCommerce:
    def test_guest_order_in_processing_is_paid_without_a_member(self):
        (event,) = woo(fixture_bytes("woocommerce/order.json"), "order.created")
        assert isinstance(event, OrderPaid) and event.customer is None
        assert (event.subtotal, event.tax, event.shipping, event.total) == (
            Decimal("18.00"),
            Decimal("1.35"),
            Decimal("10.00"),
            Decimal("29.35"),
        )
        assert event.occurred_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=timezone.utc)

    def test_order_with_refunds(self):
        events = woo(fixture_bytes("woocommerce/order_with_refunds.json"), "order.updated")
        assert isinstance(events[0], OrderPaid) and events[0].customer.external_id == "26"
        refunds = [(e.refund_id, e.amount) for e in events[1:]]
        assert refunds == [("726", Decimal("10.00")), ("724", Decimal("9.00"))]

    def test_statuses(self):
        order = fixture("woocommerce/order_with_refunds.json")
        assert woo({**order, "status": "pending", "refunds": []}, "order.updated") == []
        (cancelled,) = woo({**order, "status": "cancelled"}, "order.updated")
        assert isinstance(cancelled, OrderCancelled)

    def test_customer_created_and_ping(self):
        (created,) = woo(fixture_bytes("woocommerce/customer.json"), "customer.created")
        assert (created.customer.external_id, created.customer.email, created.customer.name) == (
            "25",
            "john.doe@example.com",
            "John Doe",
        )
        assert WooCommerce().is_ping(WebhookRequest({}, b"webhook_id=12", NOW))
        assert not WooCommerce().is_ping(WebhookRequest({"X-WC-Webhook-Signature": "x"}, b"webhook_id=12", NOW))


class TestStripe:
    def test_minor_units(self):
        assert from_stripe_amount(1099, "usd") == Decimal("10.99")
        assert from_stripe_amount(1099, "jpy") == Decimal("1099")
        assert from_stripe_amount(12340, "kwd") == Decimal("12.340")
        assert from_stripe_amount(150000, "isk") == Decimal("1500.00")

    def paid_session(self, **changes):
        session = fixture("stripe/checkout_session.json")
        session.update(
            {
                "status": "complete",
                "payment_status": "paid",
                "amount_subtotal": 5000,
                "amount_total": 4700,
                "currency": "usd",
                "customer": "cus_42",
                "customer_details": {"email": "ann@example.com", "name": "Ann"},
                "total_details": {"amount_discount": 800, "amount_shipping": 0, "amount_tax": 500},
            }
        )
        session.update(changes)
        return session

    def parse(self, kind, obj):
        return Stripe().parse(WebhookRequest({}, stripe_event(kind, obj), NOW))

    def test_composed_fixtures_route_by_type(self):
        body = fixture_bytes("stripe/composed/event_checkout_session_completed.json")
        assert Stripe().topic(WebhookRequest({}, body, NOW)) == "checkout.session.completed"
        assert Stripe().delivery_id(WebhookRequest({}, body, NOW)) == "evt_1Pgc76B7WZ01zgkWwyRHS12y"
        assert Stripe().parse(WebhookRequest({}, body, NOW)) == []  # the fixture session is unpaid
        charge = fixture_bytes("stripe/composed/event_charge_succeeded.json")
        assert Stripe().parse(WebhookRequest({}, charge, NOW)) == []  # authorised, not captured

    def test_paid_checkout_session(self):
        (event,) = self.parse("checkout.session.completed", self.paid_session())
        assert event.order_id == "pi_1PgafyB7WZ01zgkWSjxsAJo3"  # the payment intent: shared with charge events
        assert (event.subtotal, event.discount, event.tax, event.total) == (
            Decimal("50.00"),
            Decimal("8.00"),
            Decimal("5.00"),
            Decimal("47.00"),
        )
        assert event.customer.external_id == "cus_42"

    def test_zero_decimal_and_guest_by_email(self):
        (event,) = self.parse(
            "checkout.session.completed",
            self.paid_session(currency="jpy", amount_subtotal=4500, amount_total=4500, customer=None, total_details={}),
        )
        assert event.total == Decimal("4500") and event.currency == "JPY"
        assert event.customer.external_id == "ann@example.com"

    def test_captured_charge_and_payment_intent(self):
        charge = {**fixture("stripe/charge.json"), "captured": True, "amount_captured": 100, "payment_intent": "pi_9"}
        (paid,) = self.parse("charge.succeeded", charge)
        assert (paid.order_id, paid.total) == ("pi_9", Decimal("1.00"))
        intent = {**fixture("stripe/payment_intent.json"), "status": "succeeded", "amount_received": 1099}
        (paid,) = self.parse("payment_intent.succeeded", intent)
        assert (paid.order_id, paid.total) == ("pi_1PgafyB7WZ01zgkWSjxsAJo3", Decimal("10.99"))

    def test_charge_refunded_is_cumulative(self):
        charge = {**fixture("stripe/charge.json"), "amount_refunded": 40, "refunded": False}
        (refund,) = self.parse("charge.refunded", charge)
        assert refund.cumulative and refund.amount == Decimal("0.40") and refund.refund_id.endswith("@40")

    def test_customer_created(self):
        (created,) = self.parse("customer.created", fixture("stripe/customer.json"))
        assert created.customer.external_id == "cus_QXg1o8vcGmoR32"


class TestReferralFields:
    """What each adapter hands the referral checks: a code outside the discount codes, the IP, the address."""

    def test_shopify(self):
        data = fixture("shopify/order.json")
        (event,) = Shopify().parse(WebhookRequest({"X-Shopify-Topic": "orders/paid"}, json.dumps(data).encode(), NOW))
        assert event.referral is None  # its note attributes are an engraving and a colour
        assert event.client_ip == "0.0.0.0"
        assert event.shipping_address.line1 == "Chestnut Street 92" and event.shipping_address.key()
        data["note_attributes"].append({"name": "ref", "value": " ann2k9 "})
        (event,) = Shopify().parse(WebhookRequest({"X-Shopify-Topic": "orders/paid"}, json.dumps(data).encode(), NOW))
        assert (event.referral.code, event.referral.via) == ("ann2k9", "note_attribute")
        data["note_attributes"].pop()
        data["landing_site"] = "http://www.example.com/?source=abc&ref=BEN7"
        (event,) = Shopify().parse(WebhookRequest({"X-Shopify-Topic": "orders/paid"}, json.dumps(data).encode(), NOW))
        assert (event.referral.code, event.referral.via) == ("BEN7", "landing_site")

    def test_woocommerce(self):
        data = fixture("woocommerce/order.json")
        (event,) = woo(data, "order.updated")
        assert event.referral is None and event.client_ip is None  # "" in the fixture
        assert event.shipping_address.line1 == "969 Market" and event.shipping_address.postcode == "94103"
        data["meta_data"].append({"id": 1, "key": "_referral_code", "value": "ANN2K9"})
        (event,) = woo(data, "order.updated")
        assert (event.referral.code, event.referral.via) == ("ANN2K9", "meta_data")

    def test_stripe(self):
        session = fixture("stripe/checkout_session.json")
        session.update(
            {
                "payment_status": "paid",
                "currency": "usd",
                "amount_total": 1000,
                "amount_subtotal": 1000,
                "metadata": {"referral_code": "ANN2K9"},
            }
        )
        request = WebhookRequest({}, stripe_event("checkout.session.completed", session), NOW)
        (event,) = Stripe().parse(request)
        assert (event.referral.code, event.referral.via) == ("ANN2K9", "metadata")
        # collected_information.shipping_details is read, but its address is all nulls: no fingerprint.
        assert event.shipping_address.key() is None

    def test_addresses_match_however_they_are_written(self):
        from loyalty.earning.events import Address

        assert (
            Address("12 Rose Lane, Apt. 3", None, "Leeds", "LS1 4AB", "GB").key()
            == Address("12 rose lane apt 3", "", "LEEDS", "ls14ab", "gb").key()
        )
        assert (
            Address("12 Rose Lane", None, None, "LS1 4AB", "GB").key()
            != Address("14 Rose Lane", None, None, "LS1 4AB", "GB").key()
        )
        assert Address(None, None, "Leeds", None, "GB").key() is None
