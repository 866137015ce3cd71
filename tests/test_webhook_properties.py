"""Property: whatever a validly signed delivery holds, every built-in adapter's intake answers below 500,
a refusal changes nothing, nothing is left ``received`` once processed, and the ledger verifies.

Deliveries are the stores' published payloads (tests/fixtures) with one to three values swapped for
hostile ones (wrong JSON types, huge or malformed amounts, NUL characters, over-long text, JSON nested
thousands deep, keys removed), or a random JSON document; each is signed the way its store signs, and
posted inline and queued (then processed by a worker's batch). Issue 15, item 2.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.invariants import verify
from loyalty.models import WebhookDelivery
from loyalty.storefronts.connections import add_storefront
from tests.helpers import snapshot
from tests.helpers.webhooks import (
    SECRETS,
    fixture,
    shopify_headers,
    standard_headers,
    stripe_headers,
    woocommerce_headers,
)

#: Examples per adapter and mode (inline, queued): 4 adapters x 2 modes x this many deliveries.
#: ``WEBHOOK_PROPERTY_EXAMPLES=2000`` searches harder (docs/architecture.md, "Hostile input").
EXAMPLES = int(os.environ.get("WEBHOOK_PROPERTY_EXAMPLES", "60"))

DEEP = "__nested_5000_deep__"
DEEP_JSON = '{"a":' * 5000 + '"deep"' + "}" * 5000
#: A JSON number that reads as a Decimal at once but takes a minute to turn into an integer.
HUGE = "__1e999999__"


def _stripe_bases() -> dict:
    session = {
        **fixture("stripe/checkout_session.json"),
        "payment_status": "paid",
        "status": "complete",
        "amount_subtotal": 4200,
        "amount_total": 4200,
        "currency": "usd",
        "customer": "cus_7",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    }
    intent = {
        **fixture("stripe/payment_intent.json"),
        "status": "succeeded",
        "amount_received": 4200,
        "currency": "usd",
        "customer": "cus_7",
    }
    charge = {
        **fixture("stripe/charge.json"),
        "amount": 4200,
        "amount_captured": 4200,
        "captured": True,
        "paid": True,
        "currency": "usd",
        "customer": "cus_7",
        "amount_refunded": 2100,
    }
    return {
        "checkout.session.completed": session,
        "payment_intent.succeeded": intent,
        "charge.succeeded": charge,
        "charge.refunded": charge,
        "customer.created": fixture("stripe/customer.json"),
    }


def _standard_bases() -> dict:
    customer = {"external_id": "sw-c", "email": "sw@example.com", "name": "Sam"}
    return {
        "order_paid": {
            "type": "order_paid",
            "order_id": "sw-1",
            "currency": "USD",
            "subtotal": "30.00",
            "total": "30.00",
            "customer": customer,
            "lines": [{"id": "l1", "title": "Mug", "total": "30.00"}],
            "discount_codes": ["WELCOME"],
            "attributes": {"gift": "yes"},
        },
        "order_refunded": {
            "type": "order_refunded",
            "order_id": "sw-1",
            "refund_id": "r1",
            "amount": "10.00",
            "currency": "USD",
        },
        "order_cancelled": {"type": "order_cancelled", "order_id": "sw-1"},
        "customer_created": {"type": "customer_created", "customer": customer},
        "custom_event": {
            "type": "custom_event",
            "event_id": "ev-1",
            "customer": customer,
            "name": "review_written",
            "properties": {"stars": 5},
        },
    }


#: adapter -> topic -> a real payload of that topic.
BASES = {
    "shopify": {
        "orders/paid": fixture("shopify/order_discount_code_paid.json"),
        "orders/create": fixture("shopify/order.json"),
        "orders/cancelled": fixture("shopify/order.json"),
        "refunds/create": fixture("shopify/refund.json"),
        "customers/create": fixture("shopify/customer.json"),
    },
    "woocommerce": {
        "order.updated": fixture("woocommerce/order_with_refunds.json"),
        "order.created": fixture("woocommerce/order.json"),
        "customer.created": fixture("woocommerce/customer.json"),
    },
    "stripe": _stripe_bases(),
    "standard_webhooks": _standard_bases(),
}

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "abc\x00def",
        "x" * 300,
        "y" * 5000,
        "1e999999",
        "-1e999999",
        "NaN",
        "Infinity",
        "99999999999999999999.99",
        "0.000000001",
        "1,000.00",
        "-5.00",
        "9999-12-31T23:59:59-14:00",
        "2024-01-01T10:00:00",
        "usd",
        "US",
        "€€€",
        "\u202e\ufeff",
        "cus_\n7",
        "<script>alert(1)</script>",
        "\ud800",
        "a\udfffb",
        "1_000",
        " 12 ",
        "0x10",
    ]
)
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
    st.text(max_size=20),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.just(DEEP),
    st.just(HUGE),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
)
RANDOM_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value, prefix=(), depth=0):
    """Every place in a JSON document a value can be swapped (dict keys and list items, 5 levels deep)."""
    if depth > 5:
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield prefix + (key,)
        yield from _paths(item, prefix + (key,), depth + 1)


def _swap(document, path, value, *, remove=False):
    target = document
    for key in path[:-1]:
        target = target[key]
    if remove and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value


@st.composite
def deliveries(draw, adapter: str):
    """(topic, JSON text) of a hostile delivery for ``adapter``."""
    topic = draw(st.sampled_from(sorted(BASES[adapter])))
    if draw(st.integers(0, 9)) == 0:
        document = draw(RANDOM_JSON)
    else:
        document = json.loads(json.dumps(BASES[adapter][topic]))
        paths = list(_paths(document))
        for _ in range(draw(st.integers(1, 3))):
            if not paths:
                break
            path = draw(st.sampled_from(paths))
            try:
                _swap(document, path, draw(HOSTILE), remove=draw(st.integers(0, 5)) == 0)
            except (KeyError, IndexError, TypeError):
                pass  # an earlier swap removed or replaced a parent
            paths = list(_paths(document))
    if adapter == "stripe":
        document = {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": topic,
            "created": 1704103200,
            "data": {"object": document},
        }
    text = json.dumps(document, allow_nan=True, default=str).replace(json.dumps(DEEP), DEEP_JSON)
    return topic, text.replace(json.dumps(HUGE), "1e999999")


def _signed(adapter: str, topic: str, body: bytes, clock) -> dict:
    now = int(clock.now().timestamp())
    if adapter == "shopify":
        return shopify_headers(body, topic)
    if adapter == "woocommerce":
        return woocommerce_headers(body, topic)
    if adapter == "stripe":
        return stripe_headers(body, timestamp=now)
    return standard_headers(body, now)


@pytest.fixture
def shop(session, program, registry, clock, add_rule):
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
    add_rule("first_order_bonus", {"points": 50}, name="First order")
    add_rule("custom_event", {"event_name": "review_written", "points": 20}, name="Reviews")
    for kind, secret in SECRETS.items():
        add_storefront(session, program, registry, type=kind, secret=secret, clock=clock)
    session.commit()
    return program


def _received(session) -> int:
    return session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "received"))


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(WebhookDelivery))


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["inline", "queued"])
@pytest.mark.parametrize("adapter", sorted(BASES))
def test_hostile_signed_deliveries_never_crash_and_leave_nothing_received(
    app, session, shop, registry, clock, adapter, mode
):
    from loyalty.webhooks import inbox

    app.config["WEBHOOK_PROCESSING"] = mode
    client = app.test_client()
    seen = {"examples": 0}

    @PROPERTY
    @given(delivery=deliveries(adapter))
    def check(delivery):
        topic, text = delivery
        body = text.encode()
        session.rollback()
        before, stored_before = snapshot(session), _count(session)
        response = client.post(f"/webhooks/acme/{adapter}", data=body, headers=_signed(adapter, topic, body, clock))
        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
        assert response.is_json and response.json["status"]
        session.rollback()
        if response.status_code >= 400:
            assert response.status_code == 400 and response.json["message"]
            assert snapshot(session) == before and _count(session) == stored_before
        if mode == "queued":
            while inbox.process_batch(session, registry=registry, clock=clock):
                pass
        assert _received(session) == 0
        violations = verify(session)
        session.rollback()
        assert not violations, violations
        seen["examples"] += 1

    check()
    assert seen["examples"] >= EXAMPLES
