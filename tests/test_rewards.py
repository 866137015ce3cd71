"""The reward catalog and redemptions: every reward type, every limit, idempotency, cancellation.

``loyalty verify`` runs after every test (conftest).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import func, select

from loyalty import errors
from loyalty.clock import current_clock
from loyalty.earning.events import Customer, OrderPaid
from loyalty.ledger import Ledger
from loyalty.models import Redemption, Reward
from loyalty.programs.members import enrol
from loyalty.registry import current_registry
from loyalty.rewards import add_reward, cancel, get_reward, import_codes, redeem, update_reward
from loyalty.storefronts.connections import add_storefront
from loyalty.tiers.levels import add_tier, set_member_tier
from tests.helpers import START, available, run_together, snapshot
from tests.helpers.fake_stripe import FakeStripe


@pytest.fixture
def rich(session, program, clock):
    """A member with 2,000 available points."""
    member, _ = enrol(session, program, external_id="c-1", email="ann@example.com", clock=clock)
    Ledger(session, clock).earn(member, 2_000, key="seed")
    session.commit()
    return member


@pytest.fixture
def reward(session, program, registry, clock):
    def make(type="fixed_amount_code", name="5 off", points=500, config=None, **options):
        made = add_reward(
            session,
            program,
            registry,
            type=type,
            name=name,
            points=points,
            config={"amount": "5.00"} if config is None and type == "fixed_amount_code" else config,
            clock=clock,
            **options,
        )
        session.commit()
        return made

    return make


def spend(session, program, member, reward_id, key="k-1", **kw):
    redemption = redeem(
        session, program, member, reward_id, key=key, **kw, clock=current_clock(), registry=current_registry()
    )
    session.commit()
    return redemption


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Redemption))


# --- every type --------------------------------------------------------------------


class TestTypes:
    @pytest.mark.parametrize(
        "type_, config, details",
        [
            (
                "fixed_amount_code",
                {"amount": "5.00", "min_order": "20.00"},
                {"kind": "amount_off", "amount": "5.00", "currency": "USD", "min_order": "20.00"},
            ),
            ("percentage_code", {"percent": "15"}, {"kind": "percent_off", "percent": "15"}),
            ("free_shipping_code", {}, {"kind": "free_shipping"}),
            (
                "free_product",
                {"title": "Tote bag", "sku": "TOTE"},
                {"kind": "free_product", "title": "Tote bag", "sku": "TOTE"},
            ),
            ("store_credit", {"amount": "10.00"}, {"kind": "store_credit", "amount": "10.00", "currency": "USD"}),
        ],
    )
    def test_each_code_type_spends_and_issues(self, session, program, rich, reward, type_, config, details):
        made = reward(type=type_, name=type_, config=config)
        redemption = spend(session, program, rich, made.id)
        assert redemption.status == "issued" and redemption.points == 500 and redemption.details == details
        assert len(redemption.code) == 14 and redemption.code.count("-") == 2  # 12 random characters
        assert available(session, program, "c-1") == 1_500
        assert get_reward(session, program, made.id).issued_count == 1

    def test_codes_are_unguessable_unique_and_take_a_prefix_and_an_expiry(self, session, program, rich, reward, clock):
        made = reward(points=10, config={"amount": "1.00", "prefix": "LOYAL", "expires_days": 30})
        codes = {spend(session, program, rich, made.id, key=f"k-{n}").code for n in range(20)}
        assert len(codes) == 20 and all(code.startswith("LOYAL-") and len(code) == 20 for code in codes)
        latest = session.scalar(select(Redemption).order_by(Redemption.id.desc()).limit(1))
        assert latest.expires_at == clock.now() + timedelta(days=30)

    def test_variable_price_in_steps(self, session, program, rich, reward):
        made = reward(name="Dollars off", points=100, config={}, step_value="1.00", min_points=200, max_points=1_000)
        redemption = spend(session, program, rich, made.id, points=700)
        assert (redemption.points, redemption.value, redemption.details["amount"]) == (700, Decimal("7.00"), "7.00")
        before = snapshot(session)
        for points in (None, 150, 100, 1_100, 0):
            with pytest.raises(errors.InvalidInput):
                redeem(
                    session,
                    program,
                    rich,
                    made.id,
                    key=f"bad-{points}",
                    points=points,
                    clock=current_clock(),
                    registry=current_registry(),
                )
            session.rollback()
        assert snapshot(session) == before and count(session) == 1

    @pytest.mark.parametrize(
        "options, message",
        [
            ({"type": "nope"}, "no reward type"),
            ({"config": {"percent": "150"}, "type": "percentage_code"}, "percent"),
            ({"config": {}}, "needs an amount"),
            ({"points": 0}, "points"),
            ({"step_value": "1.00"}, "max points"),
            (
                {"type": "percentage_code", "config": {"percent": "10"}, "step_value": "1.00", "max_points": 500},
                "fixed price",
            ),
            ({"step_value": "0.001", "max_points": 1000, "config": {}}, "decimal places"),
            ({"min_tier": "Platinum"}, "no tier"),
            ({"starts_at": START, "ends_at": START}, "start before"),
            ({"stock": -1}, "stock"),
        ],
    )
    def test_invalid_rewards_are_refused_and_add_nothing(self, session, program, reward, options, message):
        with pytest.raises(errors.LoyaltyError) as refused:
            reward(**options)
        session.rollback()
        assert message in refused.value.message
        assert session.scalar(select(func.count()).select_from(Reward)) == 0

    def test_the_same_name_twice(self, session, program, reward):
        reward()
        with pytest.raises(errors.DuplicateReward):
            reward()


# --- limits, balance, idempotency --------------------------------------------------


class TestLimits:
    def refused(self, session, program, member, reward_id, error=errors.RewardUnavailable, key="x", **kw):
        before = (
            snapshot(session),
            count(session),
            session.scalar(select(Reward.issued_count).where(Reward.id == reward_id)),
        )
        with pytest.raises(error) as refused:
            redeem(
                session, program, member, reward_id, key=key, **kw, clock=current_clock(), registry=current_registry()
            )
        session.rollback()
        assert (
            snapshot(session),
            count(session),
            session.scalar(select(Reward.issued_count).where(Reward.id == reward_id)),
        ) == before
        return refused.value.message

    def test_stock(self, session, program, rich, reward, member_factory, clock):
        made = reward(stock=1)
        spend(session, program, rich, made.id)
        other = member_factory("c-2")
        Ledger(session, clock).earn(other, 1_000, key="seed-2")
        session.commit()
        assert "out of stock" in self.refused(session, program, other, made.id)
        cancel(
            session, program, rich, session.scalar(select(Redemption.id)), clock=clock, registry=current_registry()
        )  # a cancelled one comes back
        session.commit()
        assert spend(session, program, other, made.id).status == "issued"

    def test_per_member(self, session, program, rich, reward):
        made = reward(limit_per_member=2)
        spend(session, program, rich, made.id, key="a")
        spend(session, program, rich, made.id, key="b")
        assert "limit of 2" in self.refused(session, program, rich, made.id, key="c")

    def test_tier(self, session, program, rich, reward, clock, registry):
        add_tier(session, program, name="Silver", rank=1, clock=clock)
        gold = add_tier(session, program, name="Gold", rank=2, clock=clock)
        made = reward(min_tier="Gold")
        assert "for Gold members and above" in self.refused(session, program, rich, made.id)
        set_member_tier(session, rich, gold, clock=clock, registry=registry)
        session.commit()
        assert spend(session, program, rich, made.id).status == "issued"

    def test_dates_and_pausing(self, session, program, rich, reward, clock):
        made = reward(starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=10))
        assert "available from" in self.refused(session, program, rich, made.id)
        clock.set(START + timedelta(days=10))
        assert "ended" in self.refused(session, program, rich, made.id)
        clock.set(START + timedelta(days=5))
        update_reward(session, program, made, active=False, clock=clock)
        session.commit()
        assert "paused" in self.refused(session, program, rich, made.id)
        update_reward(session, program, made, active=True, clock=clock)
        session.commit()
        assert spend(session, program, rich, made.id).status == "issued"

    def test_not_enough_points(self, session, program, rich, reward):
        made = reward(points=2_001)
        assert "costs 2001 points" in self.refused(session, program, rich, made.id, error=errors.InsufficientPoints)

    def test_unknown_reward_and_another_programs(self, session, program, rich, reward, clock, registry):
        from loyalty.programs.program import create_program

        other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
        theirs = add_reward(session, other, registry, type="free_shipping_code", name="Ship", points=10, clock=clock)
        session.commit()
        self.refused(session, program, rich, 999, error=errors.UnknownReward)
        self.refused(session, program, rich, theirs.id, error=errors.UnknownReward)

    def test_a_suspended_member(self, session, program, rich, reward):
        made = reward()
        rich.status = "suspended"
        session.commit()
        self.refused(session, program, rich, made.id, error=errors.MemberNotActive)

    def test_the_same_key_is_the_same_redemption(self, session, program, rich, reward):
        made, other = reward(), reward(name="Other", config={"amount": "1.00"})
        first = spend(session, program, rich, made.id, key="once")
        again = spend(session, program, rich, made.id, key="once")
        assert again.id == first.id and available(session, program, "c-1") == 1_500
        with pytest.raises(errors.IdempotencyConflict):
            redeem(session, program, rich, other.id, key="once", clock=current_clock(), registry=current_registry())


# --- cancelling, using, pools ------------------------------------------------------------


class TestAfterwards:
    def test_cancel_returns_the_points_and_the_stock(self, session, program, rich, reward):
        made = reward(stock=5)
        redemption = spend(session, program, rich, made.id)
        cancelled = cancel(
            session, program, rich, redemption.id, actor="api:test", clock=current_clock(), registry=current_registry()
        )
        session.commit()
        assert cancelled.status == "cancelled" and cancelled.reversal_entry_id is not None
        assert available(session, program, "c-1") == 2_000
        assert get_reward(session, program, made.id).issued_count == 0
        for again in (redemption.id, 999):
            with pytest.raises((errors.RedemptionNotCancellable, errors.UnknownRedemption)):
                cancel(session, program, rich, again, clock=current_clock(), registry=current_registry())
            session.rollback()

    def test_an_order_with_the_code_uses_it(self, session, program, rich, reward, push):
        made = reward()
        redemption = spend(session, program, rich, made.id)
        push(
            OrderPaid(
                order_id="o-1",
                customer=Customer("c-1"),
                currency="USD",
                subtotal=Decimal("30.00"),
                discount=Decimal("5.00"),
                total=Decimal("25.00"),
                discount_codes=(redemption.code.lower(),),
            )
        )
        session.expire_all()
        used = session.get(Redemption, redemption.id)
        assert used.status == "used" and used.order_id is not None and used.used_at is not None
        before = snapshot(session)
        with pytest.raises(errors.RedemptionNotCancellable):
            cancel(session, program, rich, redemption.id, clock=current_clock(), registry=current_registry())
        session.rollback()
        assert snapshot(session) == before

    def test_a_code_pool(self, session, program, rich, reward, clock):
        made = reward(config={"amount": "5.00", "use_pool": True})
        assert import_codes(session, program, made, ["shop-aaa", "SHOP-BBB", "shop-aaa", " "], clock=clock) == 2
        assert import_codes(session, program, made, ["SHOP-BBB", "SHOP-CCC"], clock=clock) == 1
        session.commit()
        codes = [spend(session, program, rich, made.id, key=f"p-{n}").code for n in range(3)]
        assert codes == ["SHOP-AAA", "SHOP-BBB", "SHOP-CCC"]
        before = snapshot(session)
        empty = spend(session, program, rich, made.id, key="p-4")
        assert empty.status == "failed" and "pool" in empty.reason and empty.points == 0
        assert snapshot(session) == before and get_reward(session, program, made.id).issued_count == 3
        with pytest.raises(errors.InvalidInput):
            import_codes(session, program, made, ["no spaces allowed"], clock=clock)


# --- Stripe promotion codes --------------------------------------------------------------


@pytest.fixture
def fake_stripe(monkeypatch):
    from loyalty.plugins.rewards import stripe_promotion

    with FakeStripe() as fake:
        monkeypatch.setattr(stripe, "api_base", fake.url)
        monkeypatch.setattr(stripe_promotion, "MAX_NETWORK_RETRIES", 0)
        yield fake


@pytest.fixture
def stripe_shop(session, program, registry, clock):
    add_storefront(
        session,
        program,
        registry,
        type="stripe",
        secret="whsec_test_secret_123",
        api_key="sk_test_loyalty_123",
        clock=clock,
    )
    member, _ = enrol(session, program, external_id="cus_Ann123", email="ann@example.com", clock=clock)
    Ledger(session, clock).earn(member, 2_000, key="seed-stripe")
    session.commit()
    return member


class TestStripe:
    def test_issues_a_single_use_code_for_the_members_stripe_customer(
        self, session, program, stripe_shop, reward, fake_stripe, clock
    ):
        made = reward(
            type="stripe_promotion_code",
            name="5 off at checkout",
            config={"amount_off": "5.00", "expires_days": 14, "min_order": "20.00"},
        )
        redemption = spend(session, program, stripe_shop, made.id)
        assert redemption.status == "issued" and available(session, program, "cus_Ann123") == 1_500
        (coupon,) = fake_stripe.calls("/v1/coupons")
        assert coupon["params"]["amount_off"] == "500" and coupon["params"]["currency"] == "usd"
        assert coupon["params"]["duration"] == "once" and coupon["params"]["max_redemptions"] == "1"
        assert coupon["authorization"] == "Bearer sk_test_loyalty_123" and coupon["idempotency_key"]
        (promotion,) = fake_stripe.calls("/v1/promotion_codes")
        params = promotion["params"]
        assert params["code"] == redemption.code and params["customer"] == "cus_Ann123"
        assert params["promotion[coupon]"] == redemption.details["coupon"] and params["max_redemptions"] == "1"
        assert params["expires_at"] == str(int((clock.now() + timedelta(days=14)).timestamp()))
        assert params["restrictions[minimum_amount]"] == "2000"
        assert redemption.details["promotion_code"].startswith("promo_")

    def test_percent_off_and_a_variable_amount(self, session, program, stripe_shop, reward, fake_stripe):
        percent = reward(type="stripe_promotion_code", name="15%", config={"percent_off": "15"})
        steps = reward(
            type="stripe_promotion_code", name="Dollars", points=100, config={}, step_value="1.00", max_points=1_000
        )
        spend(session, program, stripe_shop, percent.id, key="a")
        spend(session, program, stripe_shop, steps.id, key="b", points=300)
        first, second = fake_stripe.calls("/v1/coupons")
        assert first["params"]["percent_off"] == "15.0" and second["params"]["amount_off"] == "300"

    @pytest.mark.parametrize(
        "outcome, reason",
        [
            ("declined", "Stripe declined: Your card was declined."),
            ("rate_limited", "Stripe is rate limiting requests"),
            ("network", "could not reach Stripe (network failure)"),
            ("server_error", "Stripe refused"),
        ],
    )
    def test_stripe_errors_spend_nothing(self, session, program, stripe_shop, reward, fake_stripe, outcome, reason):
        made = reward(type="stripe_promotion_code", config={"amount_off": "5.00"}, stock=3)
        fake_stripe.script("/v1/coupons", outcome)
        before = snapshot(session)
        failed = spend(session, program, stripe_shop, made.id)
        assert failed.status == "failed" and reason in failed.reason and failed.points == 0 and failed.code is None
        assert snapshot(session) == before and get_reward(session, program, made.id).issued_count == 0
        assert spend(session, program, stripe_shop, made.id).id == failed.id  # the same key: the same answer
        assert spend(session, program, stripe_shop, made.id, key="again").status == "issued"  # a new key tries again

    def test_a_failed_promotion_code_removes_its_coupon(self, session, program, stripe_shop, reward, fake_stripe):
        made = reward(type="stripe_promotion_code", config={"amount_off": "5.00"})
        fake_stripe.script("/v1/promotion_codes", "declined")
        assert spend(session, program, stripe_shop, made.id).status == "failed"
        (deleted,) = [r for r in fake_stripe.requests if r["method"] == "DELETE"]
        assert deleted["path"] == "/v1/coupons/co_test1"

    def test_a_dropped_connection_is_retried_with_the_same_idempotency_key(
        self, session, program, stripe_shop, reward, fake_stripe, monkeypatch
    ):
        from loyalty.plugins.rewards import stripe_promotion

        monkeypatch.setattr(stripe_promotion, "MAX_NETWORK_RETRIES", 1)
        made = reward(type="stripe_promotion_code", config={"amount_off": "5.00"})
        fake_stripe.script("/v1/coupons", "network")
        assert spend(session, program, stripe_shop, made.id).status == "issued"
        first, retry = fake_stripe.calls("/v1/coupons")
        assert first["idempotency_key"] == retry["idempotency_key"]

    def test_without_an_api_key(self, session, program, registry, clock, reward, fake_stripe):
        member, _ = enrol(session, program, external_id="cus_X", clock=clock)
        Ledger(session, clock).earn(member, 600, key="s")
        made = reward(type="stripe_promotion_code", config={"amount_off": "5.00"})
        failed = spend(session, program, member, made.id)
        assert failed.status == "failed" and "not connected with an API key" in failed.reason
        assert fake_stripe.requests == []

    def test_cancel_deactivates_the_promotion_code(self, session, program, stripe_shop, reward, fake_stripe):
        made = reward(type="stripe_promotion_code", config={"amount_off": "5.00"})
        redemption = spend(session, program, stripe_shop, made.id)
        fake_stripe.script("/v1/promotion_codes/", "network")
        before = snapshot(session)
        with pytest.raises(errors.LoyaltyError, match="could not reach Stripe"):
            cancel(session, program, stripe_shop, redemption.id, clock=current_clock(), registry=current_registry())
        session.rollback()
        assert snapshot(session) == before and session.get(Redemption, redemption.id).status == "issued"
        cancel(session, program, stripe_shop, redemption.id, clock=current_clock(), registry=current_registry())
        session.commit()
        update = fake_stripe.calls(f"/v1/promotion_codes/{redemption.details['promotion_code']}")[-1]
        assert update["params"] == {"active": "false"}
        assert available(session, program, "cus_Ann123") == 2_000


# --- concurrency (PostgreSQL) -----------------------------------------------------------


class TestConcurrency:
    @pytest.fixture(autouse=True)
    def postgres_only(self, is_postgres):
        if not is_postgres:
            pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")

    def test_points_for_three_from_ten_threads(self, app, session, program, rich, reward):
        from loyalty.db import db

        made = reward(points=600)  # 2,000 points: three of them
        reward_id, program_id, member_id = made.id, program.id, rich.id

        def attempt(n):
            from loyalty.models import Member, Program

            try:
                redemption = redeem(
                    db.session,
                    db.session.get(Program, program_id),
                    db.session.get(Member, member_id),
                    reward_id,
                    key=f"t-{n}",
                    clock=app.config["CLOCK"],
                    registry=app.extensions["loyalty.registry"],
                )
                db.session.commit()
                return redemption.status
            except errors.InsufficientPoints:
                db.session.rollback()
                return "refused"

        assert sorted(run_together(app, 10, attempt)) == ["issued"] * 3 + ["refused"] * 7
        session.expire_all()
        assert available(session, program, "c-1") == 200

    def test_stock_of_five_for_twenty_members(self, app, session, program, reward, clock):
        from loyalty.db import db

        made = reward(points=10, stock=5)
        ledger = Ledger(session, clock)
        ids = []
        for n in range(20):
            member, _ = enrol(session, program, external_id=f"m-{n}", clock=clock)
            ledger.earn(member, 100, key=f"seed-{n}")
            ids.append(member.id)
        session.commit()
        reward_id, program_id = made.id, program.id

        def attempt(n):
            from loyalty.models import Member, Program

            try:
                redeem(
                    db.session,
                    db.session.get(Program, program_id),
                    db.session.get(Member, ids[n]),
                    reward_id,
                    key="once",
                    clock=clock,
                    registry=app.extensions["loyalty.registry"],
                )
                db.session.commit()
                return "issued"
            except errors.RewardUnavailable:
                db.session.rollback()
                return "refused"

        assert sorted(run_together(app, 20, attempt)) == ["issued"] * 5 + ["refused"] * 15
        session.expire_all()
        assert get_reward(session, program, reward_id).issued_count == 5 and count(session) == 5


def test_the_plugin_guides_reward_type_example_works(session, program, rich, registry, monkeypatch, clock):
    """docs/plugins.md's gift card, run as written against a local provider; a refusal spends nothing."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.helpers import guide_example

    calls = []

    class Provider(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((self.path, payload, self.headers["Authorization"], self.headers["Idempotency-Key"]))
            status, body = (500, {}) if payload.get("amount") == "3.00" else (200, {"id": "gc_1", "code": "GIFT-1234"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("GIFTCARD_API_KEY", "gk_test")
    registry.types["reward_types"]["gift_card"] = guide_example("register_reward_types")["GiftCard"]()
    try:
        made = add_reward(
            session,
            program,
            registry,
            type="gift_card",
            name="Gift card",
            points=100,
            step_value="1.00",
            max_points=2_000,
            config={"api_url": f"http://127.0.0.1:{server.server_address[1]}"},
            clock=clock,
        )
        with pytest.raises(errors.InvalidInput):
            add_reward(
                session,
                program,
                registry,
                type="gift_card",
                name="Fixed card",
                points=100,
                config={"api_url": "http://127.0.0.1"},
                clock=clock,
            )
        session.commit()
        card = spend(session, program, rich, made.id, points=1_000)
        assert (card.status, card.code, card.details) == ("issued", "GIFT-1234", {"card_id": "gc_1"})
        assert calls[0][1] == {"amount": "10.00", "currency": "USD", "email": "ann@example.com"}
        assert calls[0][2] == "Bearer gk_test" and calls[0][3]
        refused = spend(session, program, rich, made.id, key="k-2", points=300)
        assert refused.status == "failed" and "refused (500)" in refused.reason
        cancel(session, program, rich, card.id, clock=clock, registry=registry)
        session.commit()
        assert calls[-1][0] == "/cards/gc_1/void" and available(session, program, "c-1") == 2_000
    finally:
        del registry.types["reward_types"]["gift_card"]
        server.shutdown()
        server.server_close()
