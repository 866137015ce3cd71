"""The member API (``/member/v1/<program>/``): who may call it, what members see and spend, and every refusal."""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select

from loyalty.ledger import Ledger
from loyalty.models import Entry, Member, Redemption
from loyalty.programs.members import enrol, find_member
from loyalty.programs.program import create_program
from loyalty.rewards import add_reward
from loyalty.testing.earning import order_paid
from loyalty.tiers.levels import add_tier, set_member_tier
from loyalty.widget.settings import disable, rotate, update
from tests.helpers import available, run_together, snapshot
from tests.helpers.member_api import MEMBER, ORIGIN, bearer, digest_for, enable_widget, jwt_for

ME = f"{MEMBER}/acme/me"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def secret(session, program, clock):
    return enable_widget(session, program, clock)


@pytest.fixture
def ann(session, program, clock, secret):
    """A member with 1,000 points, and her token."""
    member, _ = enrol(session, program, external_id="c-1", email="ann@example.com", name="Ann", clock=clock)
    Ledger(session, clock).earn(member, 1_000, key="seed")
    session.commit()
    return bearer(jwt_for(secret, "c-1", clock))


@pytest.fixture
def rewards(session, program, registry, clock):
    made = {
        "five": add_reward(
            session,
            program,
            registry,
            type="fixed_amount_code",
            name="5 off",
            points=500,
            config={"amount": "5.00", "prefix": "FIVE"},
            clock=clock,
        ),
        "big": add_reward(
            session,
            program,
            registry,
            type="fixed_amount_code",
            name="50 off",
            points=5_000,
            config={"amount": "50.00"},
            clock=clock,
        ),
        "credit": add_reward(
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
    }
    session.commit()
    return {name: reward.id for name, reward in made.items()}


def redeem(client, headers, body, key="k-1"):
    return client.post(f"{ME}/redemptions", json=body, headers={**headers, "Idempotency-Key": key})


class TestWhoMayCall:
    def test_a_valid_jwt_reads_the_member(self, client, ann):
        answer = client.get(ME, headers=ann)
        assert answer.status_code == 200
        assert answer.json["external_id"] == "c-1"
        assert answer.json["balances"] == {"available": 1_000, "pending": 0, "lifetime_earned": 1_000}

    def test_the_digest_form_reads_the_member(self, client, ann, secret, clock):
        answer = client.get(ME, headers=bearer(digest_for(secret, "c-1", clock, age=timedelta(hours=23))))
        assert answer.status_code == 200 and answer.json["external_id"] == "c-1"

    @pytest.mark.parametrize(
        "make",
        [
            pytest.param(lambda secret, clock: None, id="missing"),
            pytest.param(lambda secret, clock: "not-a-token", id="garbage"),
            pytest.param(lambda secret, clock: jwt_for("lw_other", "c-1", clock), id="bad-signature"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-1", clock, exp=None), id="no-exp"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-1", clock, iat=None), id="no-iat"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-1", clock, sub=None), id="no-sub"),
            pytest.param(
                lambda secret, clock: jwt_for(
                    secret, "c-1", clock, exp=int(clock.now().timestamp()) - 1, iat=int(clock.now().timestamp()) - 60
                ),
                id="expired",
            ),
            pytest.param(
                lambda secret, clock: jwt_for(
                    secret,
                    "c-1",
                    clock,
                    exp=int(clock.now().timestamp()) + 86_401 + 60,
                    iat=int(clock.now().timestamp()),
                ),
                id="lives-over-24h",
            ),
            pytest.param(
                lambda secret, clock: jwt_for(
                    secret,
                    "c-1",
                    clock,
                    iat=int(clock.now().timestamp()) + 3600,
                    exp=int(clock.now().timestamp()) + 7200,
                ),
                id="issued-in-the-future",
            ),
            pytest.param(
                lambda secret, clock: jwt.encode(
                    {"sub": "c-1", "iat": int(clock.now().timestamp()), "exp": int(clock.now().timestamp()) + 60},
                    secret,
                    algorithm="HS512",
                ),
                id="other-algorithm",
            ),
            pytest.param(
                lambda secret, clock: jwt.encode(
                    {"sub": "c-1", "iat": int(clock.now().timestamp()), "exp": int(clock.now().timestamp()) + 60},
                    None,
                    algorithm="none",
                ),
                id="unsigned",
            ),
            pytest.param(
                lambda secret, clock: digest_for(secret, "c-1", clock, age=timedelta(hours=24, seconds=1)),
                id="digest-too-old",
            ),
            pytest.param(
                lambda secret, clock: digest_for(secret, "c-1", clock, age=-timedelta(minutes=10)),
                id="digest-from-the-future",
            ),
            pytest.param(lambda secret, clock: digest_for("lw_other", "c-1", clock), id="digest-bad-signature"),
            pytest.param(lambda secret, clock: "hmac.YzEt.123", id="digest-malformed"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-1", clock, sub="x" * 256), id="long-sub"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-\x00", clock), id="nul-in-sub"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-9", clock, email="not-an-email"), id="bad-email"),
            pytest.param(lambda secret, clock: "e" * 5000, id="oversized"),
            pytest.param(lambda secret, clock: jwt_for(secret, "c-1", clock, sub=123), id="numeric-sub"),
        ],
    )
    def test_refused_tokens_get_401_and_change_nothing(self, client, session, ann, secret, clock, make):
        before = snapshot(session), session.scalar(select(func.count()).select_from(Member))
        token = make(secret, clock)
        answer = client.get(ME, headers=bearer(token) if token else {})
        assert answer.status_code == 401, answer.json
        assert answer.json["code"] == "invalid_member_token"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        session.expire_all()
        assert (snapshot(session), session.scalar(select(func.count()).select_from(Member))) == before

    def test_an_oversized_token_says_so(self, client, ann):
        answer = client.get(ME, headers=bearer("e" * 5000))
        assert answer.status_code == 401 and "at most 4096" in answer.json["message"]

    def test_a_numeric_sub_says_what_is_wrong(self, client, ann, secret, clock):
        answer = client.get(ME, headers=bearer(jwt_for(secret, "c-1", clock, sub=123)))
        assert answer.status_code == 401 and "string" in answer.json["message"]

    def test_a_token_of_another_programs_secret_is_refused(self, client, session, clock, ann):
        other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
        other_secret = enable_widget(session, other, clock)
        answer = client.get(ME, headers=bearer(jwt_for(other_secret, "c-1", clock)))
        assert answer.status_code == 401 and answer.json["code"] == "invalid_member_token"

    def test_rotating_the_secret_refuses_the_old_tokens(self, client, session, program, clock, ann):
        rotate(session, program, clock=clock)
        session.commit()
        assert client.get(ME, headers=ann).status_code == 401

    def test_a_disabled_widget_answers_403_even_to_valid_tokens(self, client, session, program, clock, ann):
        disable(session, program, clock=clock)
        session.commit()
        for path in ("me", "me/activity", "rewards", "me/redemptions", "program"):
            answer = client.get(f"{MEMBER}/acme/{path}", headers=ann)
            assert answer.status_code == 403 and answer.json["code"] == "widget_disabled", path
        assert redeem(client, ann, {"reward_id": 1}).status_code == 403

    def test_unknown_programs_and_programs_without_a_widget_are_404(self, client, session, clock, ann):
        create_program(session, slug="plain", name="Plain", currency="USD", clock=clock)
        session.commit()
        for slug in ("ghost", "plain", "x" * 300, "a%00b"):
            answer = client.get(f"{MEMBER}/{slug}/me", headers=ann)
            assert answer.status_code == 404 and answer.json["code"] == "unknown_program", slug

    def test_tokens_never_reach_the_logs(self, client, ann, secret, clock, caplog, rewards):
        digest_token = digest_for(secret, "c-1", clock)
        with caplog.at_level(logging.DEBUG):
            client.get(ME, headers=ann)
            client.get(ME, headers=bearer(digest_token))
            client.get(ME, headers=bearer(ann["Authorization"].split()[1] + "x"))
            redeem(client, ann, {"reward_id": rewards["five"]})
            redeem(client, ann, {"reward_id": "nonsense"}, key="k-2")
        logged = caplog.text + "".join(str(record.args) for record in caplog.records)
        assert ann["Authorization"].split()[1] not in logged
        assert digest_token not in logged and secret not in logged


class TestEnrolment:
    def test_a_token_for_a_new_customer_enrols_them_once_with_the_sign_up_rules(
        self, client, session, program, secret, clock, add_rule
    ):
        add_rule("signup_bonus", {"points": 50}, name="Welcome")
        token = bearer(jwt_for(secret, "new-1", clock, email="new@example.com", name="Nia"))
        first = client.get(ME, headers=token)
        assert first.status_code == 200 and first.json["joined_now"] is True
        assert first.json["balances"]["available"] == 50
        assert (first.json["email"], first.json["name"]) == ("new@example.com", "Nia")
        again = client.get(ME, headers=token)
        assert again.json["joined_now"] is False and again.json["balances"]["available"] == 50
        session.expire_all()
        assert available(session, program, "new-1") == 50

    def test_programs_where_members_join_by_order_do_not_enrol(self, client, session, program, secret, clock):
        update(session, program, joins="order", clock=clock)
        session.commit()
        answer = client.get(ME, headers=bearer(jwt_for(secret, "new-2", clock)))
        assert answer.status_code == 404 and answer.json["code"] == "not_a_member"
        assert find_member(session, program, "new-2") is None

    def test_a_refused_redemption_does_not_enrol(self, client, session, program, secret, clock):
        answer = redeem(client, bearer(jwt_for(secret, "new-3", clock)), {"reward_id": "x"})
        assert answer.status_code == 422
        assert find_member(session, program, "new-3") is None

    @pytest.mark.postgres_only
    def test_concurrent_first_requests_enrol_one_member_with_one_bonus(
        self, app, session, program, secret, clock, add_rule, is_postgres
    ):
        if not is_postgres:
            pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
        add_rule("signup_bonus", {"points": 50}, name="Welcome")
        token = bearer(jwt_for(secret, "race-1", clock))
        answers = run_together(app, 6, lambda n: app.test_client().get(ME, headers=token))
        assert {answer.status_code for answer in answers} == {200}, [a.json for a in answers]
        assert sum(answer.json["joined_now"] for answer in answers) == 1
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(Member).where(Member.external_id == "race-1")) == 1
        assert available(session, program, "race-1") == 50


class TestWhatMembersSee:
    def test_no_member_reaches_another_members_data(self, client, session, program, secret, clock, ann, rewards):
        ben, _ = enrol(session, program, external_id="c-2", clock=clock)
        Ledger(session, clock).earn(ben, 700, key="seed-ben")
        session.commit()
        ben_token = bearer(jwt_for(secret, "c-2", clock))
        assert redeem(client, ann, {"reward_id": rewards["five"]}, key="same").status_code == 201
        # The same key from Ben is Ben's own request: it spends his points, it does not replay Ann's code.
        his = redeem(client, ben_token, {"reward_id": rewards["five"]}, key="same")
        assert his.status_code == 201 and "Idempotent-Replayed" not in his.headers
        hers = client.get(f"{ME}/redemptions", headers=ann).json["data"]
        assert [r["code"] for r in hers] != [
            r["code"] for r in client.get(f"{ME}/redemptions", headers=ben_token).json["data"]
        ]
        assert client.get(ME, headers=ben_token).json["balances"]["available"] == 200
        assert client.get(ME, headers=ann).json["balances"]["available"] == 500
        assert all(line["points"] != 700 for line in client.get(f"{ME}/activity", headers=ann).json["data"])
        # There is no path naming a member: another member's id in the path is not a route at all.
        assert client.get(f"{MEMBER}/acme/members/c-2", headers=ann).status_code == 404

    def test_me_shows_tier_progress_referral_link_and_next_expiry(
        self, client, session, program, secret, clock, registry
    ):
        from loyalty.referrals import set_terms
        from loyalty.tiers.levels import set_scheme

        set_terms(program, registry, referrer_points=500, friend_points=250, link="https://shop.example/?ref={code}")
        silver = add_tier(session, program, name="Silver", rank=1, threshold=0, clock=clock)
        add_tier(session, program, name="Gold", rank=2, threshold=1000, perks="Free shipping", clock=clock)
        set_scheme(session, program, registry, "points_earned", {})
        member, _ = enrol(session, program, external_id="c-5", clock=clock)
        set_member_tier(session, member, silver, registry=registry, clock=clock)
        ledger = Ledger(session, clock)
        ledger.earn(member, 400, key="seed", expires_at=clock.now() + timedelta(days=31))
        ledger.earn(member, 100, key="later", expires_at=clock.now() + timedelta(days=60))
        session.commit()
        me = client.get(ME, headers=bearer(jwt_for(secret, "c-5", clock))).json
        assert me["tier"]["name"] == "Silver"
        assert me["tier_progress"]["next_tier"] == {"name": "Gold", "threshold": "1000", "remaining": "500"}
        assert me["referral"]["link"] == f"https://shop.example/?ref={member.referral_code}"
        assert me["next_expiry"]["points"] == 400
        assert me["next_expiry"]["at"].startswith("2026-02-01T12:00")

    def test_activity_is_in_the_members_words_newest_first_and_paged(
        self, client, session, program, secret, clock, rewards, push, add_rule
    ):
        add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
        add_rule("first_order_bonus", {"points": 100}, name="First order")
        push(order_paid("65.00", customer="c-7", order_id="1001"))
        headers = bearer(jwt_for(secret, "c-7", clock))
        Ledger(session, clock).earn(find_member(session, program, "c-7"), 1_000, key="gift")
        session.commit()
        assert redeem(client, headers, {"reward_id": rewards["five"]}).status_code == 201
        first = client.get(f"{ME}/activity?limit=2", headers=headers).json
        titles = [line["title"] for line in first["data"]]
        assert titles[0] == "Redeemed: 5 off" and first["data"][0]["points"] == -500
        rest = client.get(f"{ME}/activity?limit=50&cursor={first['next_cursor']}", headers=headers).json
        assert "Order #1001" in [line["title"] for line in rest["data"]]
        assert rest["next_cursor"] is None
        every = first["data"] + rest["data"]
        assert [line["id"] for line in every] == sorted((line["id"] for line in every), reverse=True)
        assert not any("Base rate" in line["title"] or ":" in line["title"][-3:] for line in every)
        order = [line for line in every if line["title"] == "Order #1001"]
        assert len(order) == 1 and order[0]["points"] == 65 + 100  # the base rate and the first-order bonus, one line

    def test_rewards_say_whether_this_member_can_have_them(
        self, client, session, program, registry, clock, ann, rewards
    ):
        add_tier(session, program, name="Gold", rank=3, clock=clock)
        add_reward(
            session,
            program,
            registry,
            type="free_product",
            name="Mug",
            points=10,
            config={"title": "Mug"},
            min_tier="Gold",
            clock=clock,
        )
        session.commit()
        views = {view["name"]: view for view in client.get(f"{MEMBER}/acme/rewards", headers=ann).json}
        assert views["5 off"]["available"] is True and views["5 off"]["unavailable_reason"] is None
        assert (
            views["50 off"]["unavailable_reason"] == "not_enough_points" and views["50 off"]["points_needed"] == 4_000
        )
        assert views["Mug"]["unavailable_reason"] == "tier"
        assert (views["Mug"]["affordable"], views["Mug"]["tier_eligible"]) == (True, False)
        assert (views["50 off"]["affordable"], views["50 off"]["tier_eligible"]) == (False, True)
        assert all(view["in_stock"] and view["within_limit"] for view in views.values())
        assert views["Credit"]["available"] is True

    def test_stock_and_the_per_member_limit_are_said_apart(self, client, session, program, registry, clock, ann):
        add_reward(
            session,
            program,
            registry,
            type="free_shipping_code",
            name="Ship",
            points=10,
            limit_per_member=1,
            clock=clock,
        )
        add_reward(session, program, registry, type="free_shipping_code", name="Last", points=10, stock=1, clock=clock)
        session.commit()
        rewards = {view["name"]: view["id"] for view in client.get(f"{MEMBER}/acme/rewards", headers=ann).json}
        assert redeem(client, ann, {"reward_id": rewards["Ship"]}, key="s").status_code == 201
        assert redeem(client, ann, {"reward_id": rewards["Last"]}, key="l").status_code == 201
        views = {view["name"]: view for view in client.get(f"{MEMBER}/acme/rewards", headers=ann).json}
        assert views["Ship"]["unavailable_reason"] == "limit_reached" and views["Ship"]["within_limit"] is False
        assert views["Last"]["unavailable_reason"] == "out_of_stock" and views["Last"]["in_stock"] is False
        again = redeem(client, ann, {"reward_id": rewards["Ship"]}, key="s2")
        assert again.status_code == 409 and again.json == {
            "code": "reward_unavailable",
            "message": again.json["message"],
            "reason": "limit_reached",
        }

    def test_the_program_needs_no_token(self, client, session, program, clock, secret, rewards, add_rule):
        add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
        info = client.get(f"{MEMBER}/acme/program").json
        assert info["program"] == {"slug": "acme", "name": "Acme", "currency": "USD"}
        assert info["ways_to_earn"][0]["description"] == "1 point for every USD 1 spent"
        assert {reward["name"] for reward in info["rewards"]} == {"5 off", "50 off", "Credit"}
        assert all(reward["available"] is None for reward in info["rewards"])
        assert info["widget"]["texts"]["redeem"] == "Redeem" and "secret" not in str(info["widget"])
        assert secret not in str(info)


class TestRedeeming:
    def test_redeeming_spends_the_points_and_gives_the_code(self, client, session, program, ann, rewards):
        answer = redeem(client, ann, {"reward_id": rewards["five"]})
        assert answer.status_code == 201, answer.json
        assert answer.json["code"].startswith("FIVE") and answer.json["points"] == 500
        session.expire_all()
        assert available(session, program, "c-1") == 500
        listed = client.get(f"{ME}/redemptions", headers=ann).json["data"]
        assert [r["code"] for r in listed] == [answer.json["code"]]

    def test_a_repeat_answers_the_first_result(self, client, session, program, ann, rewards):
        first = redeem(client, ann, {"reward_id": rewards["five"]})
        again = redeem(client, ann, {"reward_id": rewards["five"]})
        assert again.status_code == 201 and again.json == first.json
        assert again.headers["Idempotent-Replayed"] == "true"
        session.expire_all()
        assert available(session, program, "c-1") == 500

    def test_never_below_zero(self, client, session, ann, rewards):
        before = snapshot(session)
        answer = redeem(client, ann, {"reward_id": rewards["big"]})
        assert answer.status_code == 409 and answer.json["code"] == "insufficient_points"
        session.expire_all()
        assert snapshot(session) == before

    def test_steps_need_points_in_steps(self, client, session, program, ann, rewards):
        assert redeem(client, ann, {"reward_id": rewards["credit"]}, key="a").status_code == 422
        assert redeem(client, ann, {"reward_id": rewards["credit"], "points": 150}, key="b").status_code == 422
        done = redeem(client, ann, {"reward_id": rewards["credit"], "points": 300}, key="c")
        assert done.status_code == 201 and done.json["value"] == "3.00"
        session.expire_all()
        assert available(session, program, "c-1") == 700

    @pytest.mark.parametrize(
        "headers, body, status, code",
        [
            ({}, {"reward_id": 1}, 422, "idempotency_key_required"),
            ({"Idempotency-Key": "x" * 201}, {"reward_id": 1}, 422, "invalid_idempotency_key"),
            ({"Idempotency-Key": "k"}, {"reward_id": 2**70}, 422, "validation_error"),
            ({"Idempotency-Key": "k"}, {"reward_id": 999_999}, 404, "unknown_reward"),
            ({"Idempotency-Key": "k"}, {"reward_id": True}, 422, "validation_error"),
            ({"Idempotency-Key": "k"}, {"reward_id": 1, "extra": 1}, 422, "validation_error"),
            ({"Idempotency-Key": "k"}, [1, 2], 422, "validation_error"),
        ],
    )
    def test_bad_requests_are_refused_and_change_nothing(
        self, client, session, ann, rewards, headers, body, status, code
    ):
        before = snapshot(session)
        answer = client.post(f"{ME}/redemptions", json=body, headers={**ann, **headers})
        assert (answer.status_code, answer.json["code"]) == (status, code), answer.json
        session.expire_all()
        assert snapshot(session) == before
        assert session.scalar(select(func.count()).select_from(Redemption)) == 0

    def test_a_number_too_long_to_read_is_400(self, client, session, ann):
        before = snapshot(session)
        answer = client.post(
            f"{ME}/redemptions",
            data='{"reward_id": ' + "9" * 5000 + "}",
            content_type="application/json",
            headers={**ann, "Idempotency-Key": "n"},
        )
        assert answer.status_code == 400 and "too long" in answer.json["message"]
        assert snapshot(session) == before

    @pytest.mark.parametrize("length", [201, 246, 247, 300])
    def test_every_key_too_long_gets_the_same_message(self, client, ann, length):
        answer = redeem(client, ann, {"reward_id": 1}, key="k" * length)
        assert answer.status_code == 422 and "1 to 200 characters" in answer.json["message"]

    def test_a_nested_or_oversized_body_is_refused(self, client, session, ann, app):
        deep = "[" * 5000 + "]" * 5000
        answer = client.post(
            f"{ME}/redemptions", data=deep, content_type="application/json", headers={**ann, "Idempotency-Key": "d"}
        )
        assert answer.status_code == 400
        big = '{"reward_id": 1, "pad": "' + "x" * (2 * 1024 * 1024) + '"}'
        answer = client.post(
            f"{ME}/redemptions", data=big, content_type="application/json", headers={**ann, "Idempotency-Key": "b"}
        )
        assert answer.status_code == 413

    @pytest.mark.postgres_only
    def test_concurrent_redemptions_never_overspend(self, app, session, program, ann, rewards, is_postgres):
        if not is_postgres:
            pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
        answers = run_together(
            app, 4, lambda n: redeem(app.test_client(), ann, {"reward_id": rewards["five"]}, key=f"race-{n}")
        )
        assert sorted(answer.status_code for answer in answers) == [201, 201, 409, 409]
        session.expire_all()
        assert available(session, program, "c-1") == 0


class TestBrowsers:
    def test_cors_echoes_only_the_programs_origins(self, client, ann):
        allowed = client.get(ME, headers={**ann, "Origin": ORIGIN})
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Origin" in allowed.headers["Vary"]
        other = client.get(ME, headers={**ann, "Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        assert "Origin" in other.headers["Vary"]

    def test_refusals_carry_cors_headers_so_the_widget_can_read_them(self, client, ann):
        answer = client.get(ME, headers={"Origin": ORIGIN})
        assert answer.status_code == 401 and answer.headers["Access-Control-Allow-Origin"] == ORIGIN

    def test_a_preflight_needs_no_token(self, client, secret):
        answer = client.options(
            f"{ME}/redemptions",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert answer.status_code == 204
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Idempotency-Key" in answer.headers["Access-Control-Allow-Headers"]
        assert "POST" in answer.headers["Access-Control-Allow-Methods"]
        refused = client.options(ME, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "Access-Control-Allow-Origin" not in refused.headers

    def test_an_origin_added_later_is_honoured_at_once(self, client, session, program, clock, ann):
        update(session, program, origins=[ORIGIN, "https://new.example"], clock=clock)
        session.commit()
        answer = client.get(ME, headers={**ann, "Origin": "https://new.example"})
        assert answer.headers["Access-Control-Allow-Origin"] == "https://new.example"

    def test_members_are_rate_limited_each_on_their_own(self, app, client, session, program, secret, clock, ann):
        app.config["MEMBER_RATE_LIMIT"] = "3 per minute"
        assert [client.get(ME, headers=ann).status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = client.get(ME, headers=ann)
        assert limited.json["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        other = bearer(jwt_for(secret, "c-2", clock))
        assert client.get(ME, headers=other).status_code == 200

    def test_the_widget_script_is_served_for_any_page(self, client):
        answer = client.get("/widget/v1/loyalty.js")
        assert answer.status_code == 200
        assert answer.mimetype == "text/javascript"
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age=300" in answer.headers["Cache-Control"]


def test_the_member_api_has_its_own_openapi_document(client):
    spec = client.get(f"{MEMBER}/openapi.json").json
    assert set(spec["paths"]) == {
        "/member/v1/{program}/program",
        "/member/v1/{program}/me",
        "/member/v1/{program}/me/activity",
        "/member/v1/{program}/me/subscription",
        "/member/v1/{program}/rewards",
        "/member/v1/{program}/me/redemptions",
    }
    public = spec["paths"]["/member/v1/{program}/program"]["get"]
    assert public["security"] == [] and "401" not in public["responses"] and "429" not in public["responses"]
    assert {"401", "403", "404", "429"} <= set(spec["paths"]["/member/v1/{program}/me"]["get"]["responses"])
    assert "bearerAuth" not in spec["components"].get("securitySchemes", {})
    assert not any(path.startswith("/api/") for path in spec["paths"])


def test_the_ledger_keeps_one_entry_per_redemption(client, session, ann, rewards):
    for key in ("a", "a", "b"):
        redeem(client, ann, {"reward_id": rewards["five"]}, key=key)
    assert session.scalar(select(func.count()).select_from(Entry).where(Entry.kind == "redeem")) == 2
