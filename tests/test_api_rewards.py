"""``/api/v1/rewards``, ``/members/<id>/redemptions`` (redeem, list, cancel), ``/codes/<code>``."""

from __future__ import annotations

import pytest
import stripe
from sqlalchemy import func, select

from loyalty.access.api_keys import create_key
from loyalty.ledger import Ledger
from loyalty.models import Redemption
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.rewards import add_reward
from loyalty.storefronts.connections import add_storefront
from loyalty.tiers.levels import add_tier
from tests.helpers import available, snapshot
from tests.helpers.fake_stripe import FakeStripe

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(session, program, clock):
    return {"Authorization": f"Bearer {create_key(session, program, name='shop', clock=clock).secret}"}


@pytest.fixture
def catalog(session, program, registry, clock, auth):
    member, _ = enrol(session, program, external_id="c-1", email="ann@example.com", clock=clock)
    Ledger(session, clock).earn(member, 1_000, key="seed")
    add_tier(session, program, name="Gold", rank=3, clock=clock)
    rewards = {
        "five": add_reward(
            session,
            program,
            registry,
            type="fixed_amount_code",
            name="5 off",
            points=500,
            config={"amount": "5.00"},
            stock=10,
            clock=clock,
        ),
        "steps": add_reward(
            session,
            program,
            registry,
            type="store_credit",
            name="Credit",
            points=100,
            config={},
            step_value="1.00",
            max_points=2_000,
            clock=clock,
        ),
        "gold": add_reward(
            session,
            program,
            registry,
            type="free_product",
            name="Gold mug",
            points=50,
            config={"title": "Mug"},
            min_tier="Gold",
            clock=clock,
        ),
    }
    session.commit()
    return {name: reward.id for name, reward in rewards.items()}


def redeem(client, auth, body, key="r-1", member="c-1"):
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{API}/members/{member}/redemptions", json=body, headers=headers)


def redemptions(session) -> int:
    return session.scalar(select(func.count()).select_from(Redemption))


class TestCatalog:
    def test_the_catalog_and_what_a_member_may_have(self, client, auth, catalog):
        rows = client.get(f"{API}/rewards", headers=auth).json
        assert [r["name"] for r in rows] == ["Gold mug", "Credit", "5 off"]  # cheapest first
        five = rows[2]
        assert (five["summary"], five["stock_left"], five["pricing"], five["available"]) == (
            "5.00 USD off",
            10,
            "fixed",
            True,
        )
        assert (rows[1]["pricing"], rows[1]["step_value"], rows[1]["max_points"]) == ("variable", "1.00", 2_000)
        for_ann = {r["name"]: r for r in client.get(f"{API}/rewards?member=c-1", headers=auth).json}
        assert for_ann["Gold mug"]["available"] is False and "Gold members" in for_ann["Gold mug"]["unavailable_reason"]
        assert client.get(f"{API}/rewards?member=ghost", headers=auth).status_code == 404


class TestRedeem:
    def test_redeem_then_the_same_key_again(self, client, session, program, auth, catalog):
        first = redeem(client, auth, {"reward_id": catalog["five"]})
        assert first.status_code == 201
        body = first.json
        assert (body["status"], body["points"], body["reward"], body["details"]["amount"]) == (
            "issued",
            500,
            "5 off",
            "5.00",
        )
        again = redeem(client, auth, {"reward_id": catalog["five"]})
        assert again.status_code == 201 and again.json == body and again.headers["Idempotent-Replayed"] == "true"
        assert available(session, program, "c-1") == 500
        clash = redeem(client, auth, {"reward_id": catalog["steps"], "points": 200})
        assert clash.status_code == 409 and clash.json["code"] == "idempotency_conflict"

    def test_a_variable_reward(self, client, session, program, auth, catalog):
        answer = redeem(client, auth, {"reward_id": catalog["steps"], "points": 300})
        assert answer.status_code == 201 and answer.json["value"] == "3.00"

    @pytest.mark.parametrize(
        "body, key, status, code",
        [
            ({"reward_id": 999}, "k", 404, "unknown_reward"),
            ({"reward_id": "five"}, "k", 422, "validation_error"),
            ({}, "k", 422, "validation_error"),
            ({"reward_id": 1}, None, 422, "idempotency_key_required"),
        ],
    )
    def test_refusals_change_nothing(self, client, session, auth, catalog, body, key, status, code):
        before = (snapshot(session), redemptions(session))
        answer = redeem(client, auth, body, key=key)
        assert answer.status_code == status and answer.json["code"] == code
        assert (snapshot(session), redemptions(session)) == before

    def test_refusals_by_the_catalog_change_nothing(self, client, session, auth, catalog):
        before = (snapshot(session), redemptions(session))
        for body, code in (
            ({"reward_id": catalog["gold"]}, "reward_unavailable"),
            ({"reward_id": catalog["steps"], "points": 1_500}, "insufficient_points"),
            ({"reward_id": catalog["steps"], "points": 150}, "invalid_input"),
            ({"reward_id": catalog["steps"]}, "invalid_input"),
        ):
            answer = redeem(client, auth, body, key=f"k-{code}-{body.get('points')}")
            assert answer.json["code"] == code and answer.status_code in (409, 422)
        assert (snapshot(session), redemptions(session)) == before
        assert redeem(client, auth, {"reward_id": catalog["five"]}, member="ghost").status_code == 404

    def test_another_programs_reward_or_member(self, client, session, auth, catalog, registry, clock):
        other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
        theirs = add_reward(session, other, registry, type="free_shipping_code", name="Ship", points=1, clock=clock)
        enrol(session, other, external_id="c-x", clock=clock)
        session.commit()
        assert redeem(client, auth, {"reward_id": theirs.id}).status_code == 404
        assert redeem(client, auth, {"reward_id": catalog["five"]}, member="c-x").status_code == 404

    def test_a_reward_stripe_cannot_issue_is_a_502_and_spends_nothing(
        self, client, session, program, auth, registry, clock, monkeypatch
    ):
        from loyalty.plugins.rewards import stripe_promotion

        add_storefront(
            session, program, registry, type="stripe", secret="whsec_abcdefgh", api_key="sk_test_abcdefgh", clock=clock
        )
        member, _ = enrol(session, program, external_id="cus_1", clock=clock)
        Ledger(session, clock).earn(member, 600, key="s")
        made = add_reward(
            session,
            program,
            registry,
            type="stripe_promotion_code",
            name="Stripe 5",
            points=500,
            config={"amount_off": "5.00"},
            clock=clock,
        )
        session.commit()
        with FakeStripe() as fake:
            monkeypatch.setattr(stripe, "api_base", fake.url)
            monkeypatch.setattr(stripe_promotion, "MAX_NETWORK_RETRIES", 0)
            fake.script("/v1/coupons", "declined")
            answer = redeem(client, auth, {"reward_id": made.id}, member="cus_1")
            assert answer.status_code == 502
            assert answer.json["status"] == "failed" and "declined" in answer.json["reason"]
            assert available(session, program, "cus_1") == 600
            again = redeem(client, auth, {"reward_id": made.id}, member="cus_1")
            assert again.status_code == 502 and again.json["id"] == answer.json["id"]
            retry = redeem(client, auth, {"reward_id": made.id}, member="cus_1", key="r-2")
            assert retry.status_code == 201 and retry.json["code"]


class TestAfterwards:
    def test_list_cancel_and_look_a_code_up(self, client, session, program, auth, catalog):
        issued = redeem(client, auth, {"reward_id": catalog["five"]}).json
        redeem(client, auth, {"reward_id": catalog["steps"], "points": 100}, key="r-2")
        page = client.get(f"{API}/members/c-1/redemptions?limit=1", headers=auth).json
        assert [(r["reward"], r["value"]) for r in page["data"]] == [("Credit", "1.00")] and page["next_cursor"]
        rest = client.get(f"{API}/members/c-1/redemptions?cursor={page['next_cursor']}", headers=auth).json
        assert [r["id"] for r in rest["data"]] == [issued["id"]] and rest["next_cursor"] is None

        looked_up = client.get(f"{API}/codes/{issued['code'].lower()}", headers=auth).json
        assert looked_up["member"] == "c-1" and looked_up["valid"] is True and looked_up["id"] == issued["id"]
        assert client.get(f"{API}/codes/NOPE-NOPE", headers=auth).status_code == 404

        cancelled = client.post(f"{API}/members/c-1/redemptions/{issued['id']}/cancel", headers=auth)
        assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
        assert available(session, program, "c-1") == 900
        assert client.get(f"{API}/codes/{issued['code']}", headers=auth).json["valid"] is False
        before = snapshot(session)
        again = client.post(f"{API}/members/c-1/redemptions/{issued['id']}/cancel", headers=auth)
        assert again.status_code == 409 and again.json["code"] == "redemption_not_cancellable"
        assert client.post(f"{API}/members/c-1/redemptions/424242/cancel", headers=auth).status_code == 404
        assert snapshot(session) == before
        only = client.get(f"{API}/members/c-1/redemptions?status=cancelled", headers=auth).json["data"]
        assert [r["id"] for r in only] == [issued["id"]]
