"""Referrals: codes, attribution through each storefront, fraud checks, the review period, rewards.

Orders come as real signed webhooks built from the storefronts' published
fixtures (``tests/fixtures``), with only what a referral changes set on
them (the customer, the code, the date). ``loyalty verify`` runs after
every test (conftest).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from loyalty import errors
from loyalty.jobs import run_job
from loyalty.models import Entry, Referral
from loyalty.programs.members import get_member
from loyalty.referrals import approve, attribute, reject, set_terms
from loyalty.storefronts.connections import add_storefront
from tests.helpers import START, guide_example, run_together, snapshot
from tests.helpers.webhooks import (
    SECRETS,
    fixture,
    shopify_headers,
    standard_headers,
    stripe_event,
    stripe_headers,
    woocommerce_headers,
)

REFERRER_POINTS, FRIEND_POINTS = 500, 200


@pytest.fixture
def shop(session, program, registry, clock, add_rule):
    """A program with a 1 point per dollar rule, every storefront connected, and referral terms."""
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
    for kind, secret in SECRETS.items():
        add_storefront(session, program, registry, type=kind, secret=secret, clock=clock)
    set_terms(
        program,
        registry,
        referrer_points=REFERRER_POINTS,
        friend_points=FRIEND_POINTS,
        min_order="10.00",
        review_days=14,
        link="https://shop.example.com/?ref={code}",
    )
    session.commit()
    return program


@pytest.fixture
def ann(member_factory, shop):
    """The referrer."""
    return member_factory("c-ann", email="ann.archer@gmail.com", name="Ann Archer")


@pytest.fixture
def client(app):
    return app.test_client()


def the_referral(session, friend: str) -> Referral:
    session.expire_all()
    return session.scalar(select(Referral).where(Referral.friend_external_id == friend))


def earned(session, program, external_id: str) -> int:
    """Points posted by referrals to a member."""
    member = get_member(session, program, external_id)
    return (
        session.scalar(
            select(func.coalesce(func.sum(Entry.amount), 0)).where(
                Entry.member_id == member.id, Entry.source_type == "referral"
            )
        )
        or 0
    )


# --- orders, as each storefront sends them ---------------------------------------


def shopify_order(
    customer: str,
    order_id: int,
    *,
    email=None,
    code=None,
    note=None,
    landing=None,
    when=START,
    price="199.00",
    discount="0.00",
    address="123 Fake Street",
    ip=None,
) -> dict:
    """Shopify's published paid order, for another customer, date and code."""
    data = copy.deepcopy(fixture("shopify/order_discount_code_paid.json"))
    total = f"{float(price) - float(discount):.2f}"
    data.update(
        {
            "id": order_id,
            "processed_at": when.isoformat(),
            "created_at": when.isoformat(),
            "total_line_items_price": price,
            "subtotal_price": total,
            "total_price": total,
            "total_discounts": discount,
            "discount_codes": [{"code": code or "FAKE30", "amount": discount, "type": "fixed_amount"}],
            "note_attributes": [{"name": "ref", "value": note}] if note else [],
            "landing_site": landing,
            "browser_ip": ip,
        }
    )
    data["line_items"][0].update(
        {"price": price, "quantity": 1, "discount_allocations": [{"amount": discount, "discount_application_index": 0}]}
    )
    data["customer"].update({"id": customer, "email": email or f"{customer}@example.com"})
    data["shipping_address"]["address1"] = address
    return data


def send_shopify(client, data: dict, topic="orders/paid", webhook_id=None):
    body = json.dumps(data).encode()
    response = client.post(
        "/webhooks/acme/shopify", data=body, headers=shopify_headers(body, topic, webhook_id=webhook_id)
    )
    assert response.status_code < 300, response.json
    return response.json


def shopify_refund(client, order_id: int, amount: str, when, refund_id: int):
    return send_shopify(
        client,
        {
            "id": refund_id,
            "order_id": order_id,
            "processed_at": when.isoformat(),
            "transactions": [{"kind": "refund", "status": "success", "amount": amount, "currency": "USD"}],
        },
        topic="refunds/create",
    )


def woocommerce_order(customer: int, code: str, *, as_coupon: bool) -> bytes:
    data = copy.deepcopy(fixture("woocommerce/order.json"))
    data.update({"customer_id": customer, "date_paid_gmt": START.strftime("%Y-%m-%dT%H:%M:%S")})
    data["billing"]["email"] = f"woo-{customer}@example.com"
    if as_coupon:
        data["coupon_lines"] = [{"id": 1, "code": code.lower(), "discount": "0.00"}]
    else:
        data["meta_data"].append({"id": 13107, "key": "_referral_code", "value": code})
    return json.dumps(data).encode()


def stripe_session(customer: str, code: str) -> bytes:
    session_object = copy.deepcopy(fixture("stripe/checkout_session.json"))
    session_object.update(
        {
            "status": "complete",
            "payment_status": "paid",
            "currency": "usd",
            "amount_total": 5000,
            "amount_subtotal": 5000,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "customer": customer,
            "metadata": {"ref": code},
            "payment_intent": f"pi_{uuid.uuid4().hex[:12]}",
        }
    )
    session_object["customer_details"]["email"] = "stripe-friend@example.com"
    event = json.loads(stripe_event("checkout.session.completed", session_object))
    event["created"] = int(START.timestamp())  # paid now (the fixture's event is from 2024)
    return json.dumps(event).encode()


def send(client, storefront: str, body: bytes, headers: dict):
    response = client.post(f"/webhooks/acme/{storefront}", data=body, headers=headers)
    assert response.status_code < 300, response.json
    return response.json


# --- codes and links ------------------------------------------------------------


class TestCodes:
    def test_every_member_has_a_distinct_code_and_a_link(self, client, session, shop, member_factory, registry, clock):
        members = [member_factory(f"c-{n}") for n in range(50)]
        codes = {m.referral_code for m in members}
        assert len(codes) == 50 and all(len(code) == 8 and code.isalnum() for code in codes)
        from loyalty.access.api_keys import create_key

        key = create_key(session, shop, name="t", clock=clock).secret
        body = client.get("/api/v1/members/c-1", headers={"Authorization": f"Bearer {key}"}).json
        assert body["referral_code"] == members[1].referral_code
        assert body["referral_link"] == f"https://shop.example.com/?ref={members[1].referral_code}"

    @pytest.mark.parametrize(
        "terms",
        [
            {"link": "shop.example.com/?ref={code}"},
            {"link": "https://shop.example.com/"},
            {"referrer_points": -1},
            {"min_order": "10.001"},
            {"monthly_cap": 0},
            {"review_days": 400},
            {"checks": {"no_such_check": {}}},
            {"checks": {"velocity": {"max_per_ip": 0}}},
            {"checks": {"velocity": {"action": "ignore"}}},
            {"surprise": 1},
        ],
    )
    def test_invalid_terms_are_refused_and_change_nothing(self, session, shop, registry, terms):
        before = copy.deepcopy(shop.referral_terms)
        with pytest.raises(errors.InvalidInput):
            set_terms(shop, registry, **terms)
        assert shop.referral_terms == before


# --- attribution ----------------------------------------------------------------


def through_shopify_discount_code(code, clock):
    data = shopify_order(9001, 5001, code=code.lower(), discount="10.00")
    body = json.dumps(data).encode()
    return "shopify", body, shopify_headers(body, "orders/paid"), "9001", "discount_code"


def through_shopify_note_attribute(code, clock):
    data = shopify_order(9002, 5002, note=code)
    body = json.dumps(data).encode()
    return "shopify", body, shopify_headers(body, "orders/paid"), "9002", "note_attribute"


def through_shopify_landing_page(code, clock):
    data = shopify_order(9003, 5003, landing=f"/collections/all?utm_source=x&ref={code}")
    body = json.dumps(data).encode()
    return "shopify", body, shopify_headers(body, "orders/paid"), "9003", "landing_site"


def through_woocommerce_coupon(code, clock):
    body = woocommerce_order(9004, code, as_coupon=True)
    return "woocommerce", body, woocommerce_headers(body, "order.updated"), "9004", "discount_code"


def through_woocommerce_meta_data(code, clock):
    body = woocommerce_order(9005, code, as_coupon=False)
    return "woocommerce", body, woocommerce_headers(body, "order.updated"), "9005", "meta_data"


def through_stripe_metadata(code, clock):
    body = stripe_session("cus_friend9006", code)
    return "stripe", body, stripe_headers(body), "cus_friend9006", "metadata"


def through_standard_webhooks(code, clock):
    body = json.dumps(
        {
            "type": "order_paid",
            "order_id": "sw-9007",
            "currency": "USD",
            "subtotal": "60.00",
            "total": "60.00",
            "customer": {"external_id": "sw-9007", "email": "sw@example.com"},
            "referral_code": code,
            "occurred_at": START.isoformat(),
        }
    ).encode()
    return "standard_webhooks", body, standard_headers(body, int(clock.now().timestamp())), "sw-9007", "referral_code"


PATHS = [
    through_shopify_discount_code,
    through_shopify_note_attribute,
    through_shopify_landing_page,
    through_woocommerce_coupon,
    through_woocommerce_meta_data,
    through_stripe_metadata,
    through_standard_webhooks,
]


class TestAttribution:
    @pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__.removeprefix("through_"))
    def test_a_friends_first_order_with_the_code_converts_and_is_rewarded_after_review(
        self, client, session, shop, ann, clock, path, registry
    ):
        storefront, body, headers, friend, via = path(ann.referral_code, clock)
        assert send(client, storefront, body, headers)["status"] == "processed"
        referral = the_referral(session, friend)
        assert (referral.status, referral.via, referral.code) == ("converted", via, ann.referral_code)
        assert referral.review_until == referral.converted_at + timedelta(days=14)
        assert earned(session, shop, "c-ann") == 0  # nothing before the review period ends

        clock.set(referral.review_until + timedelta(minutes=1))
        assert run_job(session, "referrals", clock=clock, registry=registry).counts == {"rewarded": 1}
        referral = the_referral(session, friend)
        assert referral.status == "rewarded" and referral.reason is None
        assert earned(session, shop, "c-ann") == REFERRER_POINTS
        assert earned(session, shop, friend) == FRIEND_POINTS
        assert run_job(session, "referrals", clock=clock, registry=registry).counts == {"rewarded": 0}  # rewarded once

    def test_the_same_order_again_changes_nothing(self, client, session, shop, ann, clock):
        data = shopify_order(9010, 5010, code=ann.referral_code)
        send_shopify(client, data, topic="orders/create")
        before = snapshot(session)
        send_shopify(client, data, topic="orders/paid")
        assert snapshot(session) == before
        assert session.scalar(select(func.count()).select_from(Referral)) == 1

    def test_an_order_with_an_unknown_code_is_just_an_order(self, client, session, shop, ann):
        assert send_shopify(client, shopify_order(9011, 5011, code="NOTACODE"))["status"] == "processed"
        assert session.scalar(select(func.count()).select_from(Referral)) == 0

    def test_no_terms_no_referrals(self, client, session, shop, ann, registry):
        set_terms(shop, registry, enabled=False)
        session.commit()
        send_shopify(client, shopify_order(9012, 5012, code=ann.referral_code))
        assert session.scalar(select(func.count()).select_from(Referral)) == 0

    def test_attributed_through_the_api_then_converted_by_an_order_without_a_code(
        self, client, session, shop, ann, clock, registry
    ):
        referral, created = attribute(
            session,
            shop,
            code=ann.referral_code.lower(),
            friend_external_id="9013",
            friend_email="friend@example.com",
            clock=clock,
            registry=registry,
        )
        session.commit()
        assert created and referral.status == "pending" and referral.via == "api"
        send_shopify(client, shopify_order(9013, 5013))
        assert the_referral(session, "9013").status == "converted"

    def test_a_friend_referred_once_stays_with_the_first_referrer(
        self, client, session, shop, ann, member_factory, clock, registry
    ):
        ben = member_factory("c-ben", email="ben@example.com")
        attribute(session, shop, code=ann.referral_code, friend_external_id="9014", registry=registry, clock=clock)
        session.commit()
        with pytest.raises(errors.AlreadyReferred):
            attribute(session, shop, code=ben.referral_code, friend_external_id="9014", registry=registry, clock=clock)
        session.rollback()
        send_shopify(client, shopify_order(9014, 5014, code=ben.referral_code))
        assert the_referral(session, "9014").referrer_id == ann.id

    def test_the_queued_worker_attributes_like_inline_processing(
        self, app, client, session, shop, ann, clock, registry, member_factory
    ):
        from loyalty.webhooks.inbox import process_batch

        app.config["WEBHOOK_PROCESSING"] = "queued"
        for enrolled in ("9015", "9017", "9018"):  # enrolled already: the batch would take their orders set-based
            member_factory(enrolled)
        attribute(session, shop, code=ann.referral_code, friend_external_id="9015", registry=registry, clock=clock)
        session.commit()
        send_shopify(client, shopify_order(9015, 5015))  # no code: converts the pending referral
        send_shopify(client, shopify_order(9016, 5016, code=ann.referral_code))  # a new customer
        send_shopify(client, shopify_order(9017, 5017, code=ann.referral_code.lower()))  # a member's first order
        send_shopify(client, shopify_order(9018, 5018, code="SUMMER10"))  # a store discount: set-based
        processed = process_batch(session, registry=registry, clock=clock)
        assert [p.status for p in processed] == ["processed"] * 4
        for friend in ("9015", "9016", "9017"):
            assert the_referral(session, friend).status == "converted"
        assert the_referral(session, "9018") is None


# --- fraud checks -----------------------------------------------------------------


class TestChecks:
    def test_self_referral_with_ones_own_code(self, client, session, shop, ann):
        send_shopify(client, shopify_order("c-ann", 5101, code=ann.referral_code))
        referral = the_referral(session, "c-ann")
        assert referral.status == "rejected" and "the friend is the referrer" in referral.reason

    @pytest.mark.parametrize(
        "email", ["Ann.Archer+friend@gmail.com", "annarcher@googlemail.com", "ANN.ARCHER@GMAIL.COM"]
    )
    def test_self_referral_with_a_similar_email(self, client, session, shop, ann, email):
        send_shopify(client, shopify_order(9101, 5102, email=email, code=ann.referral_code))
        referral = the_referral(session, "9101")
        assert referral.status == "rejected" and "e-mail is the referrer's" in referral.reason
        assert earned(session, shop, "c-ann") == 0

    def test_dots_count_outside_gmail(self, client, session, shop, member_factory):
        bob = member_factory("c-bob", email="bob.smith@example.com")
        send_shopify(client, shopify_order(9102, 5103, email="bobsmith@example.com", code=bob.referral_code))
        assert the_referral(session, "9102").status == "converted"

    def test_self_referral_shipping_to_the_referrers_address(self, client, session, shop, ann):
        send_shopify(client, shopify_order("c-ann", 5104, address="12 Rose Lane, Apt. 3"))
        send_shopify(client, shopify_order(9103, 5105, code=ann.referral_code, address="12 rose lane apt 3"))
        referral = the_referral(session, "9103")
        assert referral.status == "rejected" and "address" in referral.reason

    def test_not_a_new_customer(self, client, session, shop, ann, clock):
        send_shopify(client, shopify_order(9104, 5106, when=START - timedelta(days=40)))
        send_shopify(client, shopify_order(9104, 5107, code=ann.referral_code))
        referral = the_referral(session, "9104")
        assert referral.status == "rejected" and "1 paid order before" in referral.reason

    def test_an_existing_customer_attributed_through_the_api_is_rejected_at_once(
        self, client, session, shop, ann, clock, registry
    ):
        send_shopify(client, shopify_order(9105, 5108, when=START - timedelta(days=40)))
        referral, _ = attribute(
            session, shop, code=ann.referral_code, friend_external_id="9105", registry=registry, clock=clock
        )
        assert referral.status == "rejected" and "before the referral" in referral.reason

    def test_order_below_the_minimum_after_discounts(self, client, session, shop, ann):
        # 15.00 of goods, 7.50 off: 7.50 after discounts, under the 10.00 minimum.
        send_shopify(client, shopify_order(9106, 5109, code=ann.referral_code, price="15.00", discount="7.50"))
        referral = the_referral(session, "9106")
        assert referral.status == "rejected" and "7.50 USD after discounts" in referral.reason

    def test_any_order_waits_for_a_qualifying_one(self, client, session, shop, ann, registry):
        set_terms(shop, registry, first_order_only=False)
        session.commit()
        send_shopify(client, shopify_order(9107, 5110, code=ann.referral_code, price="8.00"))
        referral = the_referral(session, "9107")
        assert referral.status == "pending" and "did not qualify" in referral.reason
        send_shopify(client, shopify_order(9107, 5111, price="45.00"))
        referral = the_referral(session, "9107")
        assert referral.status == "converted" and referral.order_id is not None

    def test_too_many_referrals_from_one_ip_are_flagged_and_a_person_decides(
        self, client, session, shop, member_factory, clock, registry
    ):
        referrers = [member_factory(f"r-{n}") for n in range(4)]
        for n, referrer in enumerate(referrers):
            attribute(
                session,
                shop,
                code=referrer.referral_code,
                friend_external_id=f"f-{n}",
                ip="203.0.113.9",
                clock=clock,
                registry=registry,
            )
        session.commit()
        statuses = [the_referral(session, f"f-{n}").status for n in range(4)]
        assert statuses == ["pending", "pending", "pending", "flagged"]
        assert "3 or more referrals from IP 203.0.113.9" in the_referral(session, "f-3").reason

        approved = approve(
            session, shop, the_referral(session, "f-3").id, actor="cli:pm", clock=clock, registry=registry
        )
        session.commit()
        assert approved.status == "pending" and approved.decided_by == "cli:pm"
        send_shopify(client, shopify_order("f-3", 5112, ip="203.0.113.9"))  # the flag does not come back
        assert the_referral(session, "f-3").status == "converted"

    def test_too_many_referrals_by_one_referrer_then_rejected_by_a_person(
        self, client, session, shop, ann, registry, clock
    ):
        set_terms(shop, registry, checks={"velocity": {"max_per_referrer": 2}})
        session.commit()
        for n in range(3):
            send_shopify(client, shopify_order(9110 + n, 5120 + n, code=ann.referral_code))
        flagged = the_referral(session, "9112")
        assert flagged.status == "flagged" and "the referrer has 2 or more referrals" in flagged.reason
        before = snapshot(session)
        reject(session, shop, flagged.id, reason="a coupon site", actor="cli:pm", clock=clock)
        session.commit()
        assert the_referral(session, "9112").status == "rejected" and snapshot(session) == before
        with pytest.raises(errors.ReferralNotOpen):
            approve(session, shop, flagged.id, actor="cli:pm", registry=registry, clock=clock)

    def test_a_flagged_order_converts_when_approved(self, client, session, shop, ann, registry, clock):
        set_terms(shop, registry, review_days=0, checks={"self_referral": {"action": "flag"}})
        session.commit()
        send_shopify(client, shopify_order(9120, 5130, email="ann.archer+2@gmail.com", code=ann.referral_code))
        flagged = the_referral(session, "9120")
        assert flagged.status == "flagged" and flagged.order_id is not None
        approve(session, shop, flagged.id, actor="cli:pm", registry=registry, clock=clock)
        session.commit()
        assert the_referral(session, "9120").status == "rewarded"  # review period 0: rewarded at once
        assert earned(session, shop, "c-ann") == REFERRER_POINTS

    def test_a_check_switched_off_does_not_run(self, client, session, shop, ann, registry):
        set_terms(shop, registry, checks={"self_referral": {"enabled": False}})
        session.commit()
        send_shopify(client, shopify_order(9121, 5131, email="ann.archer@gmail.com", code=ann.referral_code))
        assert the_referral(session, "9121").status == "converted"


# --- the review period, the cap -------------------------------------------------


class TestReview:
    def converted(self, client, session, ann, friend=9201, order=5201):
        send_shopify(client, shopify_order(friend, order, code=ann.referral_code, price="100.00"))
        referral = the_referral(session, str(friend))
        assert referral.status == "converted"
        return referral

    def test_refund_inside_the_review_period_cancels(self, client, session, shop, ann, clock, registry):
        referral = self.converted(client, session, ann)
        shopify_refund(client, 5201, "100.00", START + timedelta(days=3), 1)
        referral = the_referral(session, "9201")
        assert referral.status == "cancelled" and "refunded during the review period" in referral.reason
        clock.set(START + timedelta(days=30))
        assert run_job(session, "referrals", clock=clock, registry=registry).counts == {"rewarded": 0}
        assert earned(session, shop, "c-ann") == 0 and earned(session, shop, "9201") == 0

    def test_partial_refund_below_the_minimum_cancels(self, client, session, shop, ann):
        self.converted(client, session, ann)
        shopify_refund(client, 5201, "95.00", START + timedelta(days=2), 1)
        assert the_referral(session, "9201").status == "cancelled"

    def test_partial_refund_above_the_minimum_keeps_it(self, client, session, shop, ann, clock, registry):
        self.converted(client, session, ann)
        shopify_refund(client, 5201, "30.00", START + timedelta(days=2), 1)
        assert the_referral(session, "9201").status == "converted"
        clock.set(START + timedelta(days=15))
        run_job(session, "referrals", clock=clock, registry=registry)
        assert earned(session, shop, "c-ann") == REFERRER_POINTS

    def test_cancellation_inside_the_review_period_cancels(self, client, session, shop, ann):
        self.converted(client, session, ann)
        send_shopify(
            client, {"id": 5201, "cancelled_at": (START + timedelta(days=1)).isoformat()}, topic="orders/cancelled"
        )
        assert the_referral(session, "9201").status == "cancelled"

    def test_refund_after_the_review_period_changes_nothing(self, client, session, shop, ann, clock, registry):
        referral = self.converted(client, session, ann)
        # The job has not run yet, but the refund came after the period: the referral stands.
        clock.set(referral.review_until + timedelta(hours=1))
        shopify_refund(client, 5201, "100.00", referral.review_until + timedelta(hours=1), 1)
        assert the_referral(session, "9201").status == "converted"
        run_job(session, "referrals", clock=clock, registry=registry)
        assert the_referral(session, "9201").status == "rewarded"
        assert earned(session, shop, "c-ann") == REFERRER_POINTS

    def test_refund_after_the_reward_leaves_it(self, client, session, shop, ann, clock, registry):
        referral = self.converted(client, session, ann)
        clock.set(referral.review_until + timedelta(days=1))
        run_job(session, "referrals", clock=clock, registry=registry)
        shopify_refund(client, 5201, "100.00", clock.now(), 1)
        assert the_referral(session, "9201").status == "rewarded"
        assert earned(session, shop, "c-ann") == REFERRER_POINTS

    def test_the_monthly_cap(self, client, session, shop, ann, registry, clock):
        set_terms(shop, registry, monthly_cap=2, review_days=0)
        session.commit()
        for n in range(3):
            send_shopify(client, shopify_order(9210 + n, 5210 + n, code=ann.referral_code))
        assert [the_referral(session, str(9210 + n)).status for n in range(3)] == ["rewarded"] * 3
        assert earned(session, shop, "c-ann") == 2 * REFERRER_POINTS
        third = the_referral(session, "9212")
        assert third.referrer_points == 0 and "cap of 2" in third.reason
        assert earned(session, shop, "9212") == FRIEND_POINTS  # the friend still gets theirs
        clock.set(START + timedelta(days=31))  # February: a new month
        send_shopify(client, shopify_order(9213, 5213, code=ann.referral_code, when=clock.now()))
        assert earned(session, shop, "c-ann") == 3 * REFERRER_POINTS

    def test_the_converted_hook_fires_once(self, app, client, session, shop, ann):
        from loyalty.plugin_api import hookimpl
        from loyalty.registry import current_registry

        seen = []

        class Listener:
            @hookimpl
            def referral_converted(self, program, referral):
                seen.append((program.slug, referral.friend_external_id, referral.status))

        current_registry().pm.register(Listener())
        data = shopify_order(9220, 5220, code=ann.referral_code)
        send_shopify(client, data)
        send_shopify(client, data)
        assert seen == [("acme", "9220", "converted")]


# --- concurrency (PostgreSQL) ---------------------------------------------------


class TestConcurrency:
    @pytest.fixture(autouse=True)
    def postgres_only(self, is_postgres):
        if not is_postgres:
            pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")

    def test_duplicate_conversions_at_once_reward_once(self, app, session, shop, ann, registry):
        set_terms(shop, registry, review_days=0)
        session.commit()
        one_order = json.dumps(shopify_order(9301, 5301, code=ann.referral_code)).encode()
        other_order = json.dumps(shopify_order(9301, 5302, code=ann.referral_code)).encode()

        def deliver(n):
            body = one_order if n % 2 else other_order  # two orders of the friend, each sent several times
            with app.test_client() as client:
                return client.post(
                    "/webhooks/acme/shopify", data=body, headers=shopify_headers(body, "orders/paid")
                ).status_code

        assert set(run_together(app, 8, deliver)) <= {200, 202}
        session.expire_all()
        referral = the_referral(session, "9301")
        assert referral.status == "rewarded"
        assert earned(session, shop, "c-ann") == REFERRER_POINTS and earned(session, shop, "9301") == FRIEND_POINTS

    def test_the_same_attribution_at_once_creates_one_referral(self, app, session, shop, ann):
        from loyalty.access.api_keys import create_key

        key, code = create_key(session, shop, name="t", clock=app.config["CLOCK"]).secret, ann.referral_code
        session.commit()

        def post(n):
            with app.test_client() as client:
                return client.post(
                    "/api/v1/referrals",
                    json={"code": code, "friend": {"external_id": "9302"}},
                    headers={"Authorization": f"Bearer {key}"},
                ).status_code

        assert sorted(run_together(app, 8, post)) == [200] * 7 + [201]
        assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_the_plugin_guides_fraud_check_example_works(client, session, shop, ann, registry, clock):
    """docs/plugins.md's fraud check, run as written: a friend at a throwaway domain is flagged."""
    namespace = guide_example("register_referral_checks")
    registry.types["referral_checks"]["disposable_email"] = namespace["DisposableEmail"]()
    try:
        referral, _ = attribute(
            session,
            shop,
            code=ann.referral_code,
            friend_external_id="9401",
            friend_email="pal@Mailinator.com",
            registry=registry,
            clock=clock,
        )
        assert referral.status == "flagged" and "mailinator.com, a disposable-mail provider" in referral.reason
        set_terms(shop, registry, checks={"disposable_email": {"domains": ["yopmail.com"], "action": "reject"}})
        referral, _ = attribute(
            session,
            shop,
            code=ann.referral_code,
            friend_external_id="9402",
            friend_email="pal@yopmail.com",
            registry=registry,
            clock=clock,
        )
        assert referral.status == "rejected"
        referral, _ = attribute(
            session,
            shop,
            code=ann.referral_code,
            friend_external_id="9403",
            friend_email="pal@mailinator.com",
            registry=registry,
            clock=clock,
        )
        assert referral.status == "pending"  # the program's own list replaced the defaults
        session.commit()
    finally:
        del registry.types["referral_checks"]["disposable_email"]
    # Uninstalled, its settings stay (it may come back) and the rest of the terms can still change.
    set_terms(shop, registry, referrer_points=600)
    assert shop.referral_terms["checks"]["disposable_email"]["domains"] == ["yopmail.com"]
    session.commit()


def test_the_friend_can_get_a_catalog_reward(client, session, shop, ann, registry, clock):
    from loyalty.models import Redemption
    from loyalty.rewards import add_reward

    welcome = add_reward(
        session,
        shop,
        registry,
        type="percentage_code",
        name="Welcome 15%",
        points=1_000,
        config={"percent": "15", "expires_days": 30},
        clock=clock,
    )
    empty_pool = add_reward(
        session,
        shop,
        registry,
        type="free_shipping_code",
        name="Ship",
        points=1,
        config={"use_pool": True},
        clock=clock,
    )
    session.commit()
    with pytest.raises(errors.UnknownReward):
        set_terms(shop, registry, friend_reward=424242)
    session.rollback()
    set_terms(shop, registry, friend_reward=welcome.id, friend_points=0, review_days=0)
    session.commit()
    send_shopify(client, shopify_order(9501, 5501, code=ann.referral_code))
    referral = the_referral(session, "9501")
    gift = session.get(Redemption, referral.friend_redemption_id)
    assert referral.status == "rewarded" and gift.status == "issued" and gift.points == 0
    assert gift.details == {"kind": "percent_off", "percent": "15"} and gift.source == f"referral:{referral.id}"
    assert earned(session, shop, "c-ann") == REFERRER_POINTS and earned(session, shop, "9501") == 0

    set_terms(shop, registry, friend_reward=empty_pool.id)  # a reward that cannot be issued
    session.commit()
    send_shopify(client, shopify_order(9502, 5502, code=ann.referral_code))
    referral = the_referral(session, "9502")
    assert referral.status == "rewarded" and referral.friend_redemption_id is None
    assert "welcome reward could not be issued" in referral.reason and "pool" in referral.reason
