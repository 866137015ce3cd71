"""Bad input to the REST API: every answer is a 4xx with a clear JSON message, and nothing changes.

Bodies nested thousands deep, dates whose UTC form overflows Python's
datetime, ids beyond 64 bits, idempotency keys at and past the documented
limit, adjustments whose ``expires_at`` makes no sense, methods a path
does not take.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.access.api_keys import create_key
from loyalty.ledger import Ledger
from loyalty.models import ApiIdempotentRequest, Member, Redemption
from loyalty.programs.members import enrol
from loyalty.referrals import set_terms
from loyalty.rewards import add_reward
from tests.helpers import START, snapshot

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(session, program, clock, registry):
    member, _ = enrol(session, program, external_id="c-1", clock=clock)
    Ledger(session, clock).earn(member, 1_000, key="seed")
    set_terms(program, registry, referrer_points=100, friend_points=50)
    key = create_key(session, program, name="shop", clock=clock).secret
    session.commit()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def reward_id(session, program, registry, clock):
    reward = add_reward(
        session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock
    )
    session.commit()
    return reward.id


@pytest.fixture
def reviews(add_rule):
    return add_rule("custom_event", {"event_name": "review_written", "points": 10}, name="Reviews")


def everything(session) -> tuple:
    """What any API write could change."""
    counts = tuple(
        session.scalar(select(func.count()).select_from(model)) for model in (Member, Redemption, ApiIdempotentRequest)
    )
    return snapshot(session), counts


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


POSTS = ["/members", "/members/c-1/adjustments", "/events", "/referrals", "/members/c-1/redemptions"]


class TestDeepBodies:
    @pytest.mark.parametrize("path", POSTS)
    @pytest.mark.parametrize("body", [deep(100_000), b"[" * 100_000 + b"]" * 100_000])
    def test_a_body_nested_thousands_deep_is_400(self, client, session, auth, path, body):
        before = everything(session)
        answer = client.post(
            f"{API}{path}", data=body, content_type="application/json", headers={**auth, "Idempotency-Key": "deep-1"}
        )
        assert answer.status_code == 400, answer.data[:300]
        assert answer.json["code"] == "bad_request" and "nested" in answer.json["message"]
        assert everything(session) == before

    @pytest.mark.parametrize("path", POSTS)
    def test_a_number_too_long_for_python_to_read_is_400(self, client, session, auth, path):
        """JSON numbers of more than 4,300 digits: Python refuses to read them, which was a 500 (found by trying
        the member API as a newcomer)."""
        before = everything(session)
        answer = client.post(
            f"{API}{path}",
            data='{"points": ' + "9" * 5000 + "}",
            content_type="application/json",
            headers={**auth, "Idempotency-Key": "long-1"},
        )
        assert answer.status_code == 400 and "too long" in answer.json["message"]
        assert everything(session) == before

    @pytest.mark.parametrize("levels, status", [(30, 201), (200, 400), (900, 400)])
    def test_event_properties_nest_a_few_levels_only(self, client, session, auth, levels, status):
        properties = {}
        inner = properties
        for _ in range(levels):
            inner["a"] = {}
            inner = inner["a"]
        before = everything(session)
        answer = client.post(
            f"{API}/events",
            headers=auth,
            json={
                "event_id": "e-1",
                "name": "review_written",
                "member": {"external_id": "c-1"},
                "properties": properties,
            },
        )
        assert answer.status_code == status, answer.json
        if status == 400:
            assert "nested" in answer.json["message"] and everything(session) == before


class TestTextThatIsNotText:
    """JSON's ``"\\ud800"`` is a string Python holds but no database driver can encode: it was a 500 on every
    write that met it (found by trying the platform as an attacker)."""

    @pytest.mark.parametrize(
        "path, body",
        [
            ("/members", {"external_id": "a\ud800b"}),
            ("/members", {"external_id": "c-9", "name": "\udfff"}),
            ("/members/c-1/adjustments", {"points": 1, "reason": "x\ud800y"}),
            ("/events", {"event_id": "e-\ud800", "name": "review_written", "member": {"external_id": "c-1"}}),
            (
                "/events",
                {
                    "event_id": "e-2",
                    "name": "review_written",
                    "member": {"external_id": "c-1"},
                    "properties": {"\udfff": 1},
                },
            ),
            ("/referrals", {"code": "\ud800", "friend": {"external_id": "f-1"}}),
        ],
    )
    def test_an_unpaired_surrogate_is_400(self, client, session, auth, path, body):
        before = everything(session)
        answer = client.post(
            f"{API}{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers={**auth, "Idempotency-Key": "surrogate-1"},
        )
        assert answer.status_code == 400, answer.json
        assert answer.json["code"] == "bad_request" and "surrogate" in answer.json["message"]
        assert everything(session) == before

    def test_a_body_over_the_limit_is_413(self, app, client, session, auth):
        app.config["API_MAX_BYTES"] = 10_000
        before = everything(session)
        answer = client.post(
            f"{API}/members", headers=auth, json={"external_id": "c-big", "name": "x" * 20, "pad": "y" * 20_000}
        )
        assert answer.status_code == 413 and answer.json["code"] == "too_large"
        assert everything(session) == before


#: Every aware moment Python can write, with any offset: some of them overflow once turned into UTC.
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31, 23, 59, 59),
    timezones=st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)),
)


class TestMoments:
    @pytest.mark.parametrize(
        "moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00"]
    )
    def test_an_expiry_beyond_what_can_be_stored_is_422(self, client, session, auth, moment):
        before = everything(session)
        answer = client.post(
            f"{API}/members/c-1/adjustments",
            json={"points": 5, "reason": "x", "expires_at": moment},
            headers={**auth, "Idempotency-Key": "far-1"},
        )
        assert answer.status_code == 422 and "expires_at" in answer.json["errors"]["json"], answer.json
        assert everything(session) == before

    @pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
    def test_an_event_time_beyond_what_can_be_stored_is_422(self, client, session, auth, moment):
        before = everything(session)
        answer = client.post(
            f"{API}/events",
            headers=auth,
            json={"event_id": "e-1", "name": "review_written", "member": {"external_id": "c-1"}, "occurred_at": moment},
        )
        assert answer.status_code == 422 and "occurred_at" in answer.json["errors"]["json"], answer.json
        assert everything(session) == before

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(moment=MOMENTS, points=st.sampled_from([5, -5]))
    def test_any_moment_anywhere_is_never_a_server_error(self, client, session, auth, reviews, moment, points):
        text = moment.isoformat()
        for path, body in [
            ("/members/c-1/adjustments", {"points": points, "reason": "x", "expires_at": text}),
            (
                "/events",
                {
                    "event_id": f"e-{text}",
                    "name": "review_written",
                    "member": {"external_id": "c-1"},
                    "occurred_at": text,
                },
            ),
        ]:
            answer = client.post(f"{API}{path}", json=body, headers={**auth, "Idempotency-Key": f"k-{text}-{points}"})
            assert answer.status_code < 500, (path, body, answer.json)
            session.rollback()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(birthday=st.dates())
    def test_any_birthday_is_never_a_server_error(self, client, session, auth, add_rule, birthday):
        answer = client.post(
            f"{API}/members", json={"external_id": f"b-{birthday}", "birthday": birthday.isoformat()}, headers=auth
        )
        assert answer.status_code in (200, 201), answer.json
        session.rollback()


class TestBigIds:
    @pytest.mark.parametrize("redemption_id", [2**63, 10**40, 2**64 + 5])
    def test_a_redemption_id_beyond_64_bits_is_404(self, client, session, auth, redemption_id):
        before = everything(session)
        answer = client.post(f"{API}/members/c-1/redemptions/{redemption_id}/cancel", headers=auth)
        assert answer.status_code == 404 and answer.json["code"] in {"not_found", "unknown_redemption"}
        assert everything(session) == before

    @pytest.mark.parametrize(
        "body", [{"reward_id": 2**64}, {"reward_id": 1, "points": 10**40}, {"reward_id": -(2**70)}]
    )
    def test_integers_beyond_64_bits_in_a_body_are_422(self, client, session, auth, reward_id, body):
        before = everything(session)
        answer = client.post(f"{API}/members/c-1/redemptions", json=body, headers={**auth, "Idempotency-Key": "b-1"})
        assert answer.status_code == 422
        assert everything(session) == before

    @pytest.mark.parametrize("query", ["limit=" + "9" * 40, "cursor=" + "z" * 13, "limit=-" + "9" * 40])
    def test_integers_beyond_64_bits_in_a_query_are_422(self, client, auth, query):
        for path in ("transactions", "referrals", "redemptions"):
            answer = client.get(f"{API}/members/c-1/{path}?{query}", headers=auth)
            assert answer.status_code == 422, (path, answer.json)


class TestIdempotencyKeyLimit:
    """255 characters, as the document says, on every endpoint that takes the header."""

    def requests(self, reward_id):
        return [
            ("/members", {"external_id": "c-2"}),
            ("/members/c-1/adjustments", {"points": 5, "reason": "x"}),
            ("/events", {"event_id": "e-1", "name": "review_written", "member": {"external_id": "c-1"}}),
            ("/referrals", {"code": "NOPE", "friend": {"external_id": "f-1"}}),
            ("/members/c-1/redemptions", {"reward_id": reward_id}),
        ]

    def test_255_characters_are_accepted_everywhere(self, client, session, auth, reward_id):
        for number, (path, body) in enumerate(self.requests(reward_id)):
            answer = client.post(f"{API}{path}", json=body, headers={**auth, "Idempotency-Key": f"{number}" * 255})
            assert answer.status_code in (200, 201, 404), (path, answer.json)

    def test_256_characters_are_refused_everywhere(self, client, session, auth, reward_id):
        before = everything(session)
        for path, body in self.requests(reward_id):
            answer = client.post(f"{API}{path}", json=body, headers={**auth, "Idempotency-Key": "k" * 256})
            assert answer.status_code == 422 and answer.json["code"] == "invalid_idempotency_key", (path, answer.json)
        assert everything(session) == before

    def test_the_document_states_the_same_limit(self, client):
        spec = client.get(f"{API}/openapi.json").json
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                for parameter in operation.get("parameters", []) if method != "parameters" else operation:
                    if parameter.get("name") == "Idempotency-Key":
                        assert parameter["schema"]["maxLength"] == 255, (method, path)


class TestAdjustmentExpiry:
    def post(self, client, auth, body, key):
        return client.post(f"{API}/members/c-1/adjustments", json=body, headers={**auth, "Idempotency-Key": key})

    def test_a_credit_that_expires_in_the_past_is_refused(self, client, session, auth):
        before = everything(session)
        answer = self.post(
            client, auth, {"points": 5, "reason": "x", "expires_at": (START - timedelta(seconds=1)).isoformat()}, "p-1"
        )
        assert answer.status_code == 422 and answer.json["code"] == "invalid_input"
        assert "past" in answer.json["message"]
        assert everything(session) == before

    def test_a_debit_with_an_expiry_is_refused(self, client, session, auth):
        before = everything(session)
        answer = self.post(
            client, auth, {"points": -5, "reason": "x", "expires_at": (START + timedelta(days=30)).isoformat()}, "p-2"
        )
        assert answer.status_code == 422 and answer.json["code"] == "invalid_input"
        assert "debit" in answer.json["message"]
        assert everything(session) == before

    def test_a_credit_that_expires_later_is_fine(self, client, auth):
        answer = self.post(
            client, auth, {"points": 5, "reason": "x", "expires_at": (START + timedelta(days=30)).isoformat()}, "p-3"
        )
        assert answer.status_code == 201

    @pytest.mark.parametrize(
        "amount, expires, word",
        [("5", "2025-12-31T00:00:00+00:00", "past"), ("-5", "2027-01-01T00:00:00+00:00", "debit")],
    )
    def test_the_cli_refuses_the_same(self, runner, session, auth, amount, expires, word):
        before = everything(session)
        result = runner.invoke(
            args=[
                "points",
                "adjust",
                "--program",
                "acme",
                "--member",
                "c-1",
                "--amount",
                amount,
                "--reason",
                "x",
                "--expires-at",
                expires,
            ]
        )
        assert result.exit_code == 1 and word in result.output, result.output
        assert "Traceback" not in result.output
        assert everything(session) == before


class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        "method, path, allowed",
        [
            ("DELETE", "/members/c-1", {"GET"}),
            ("PUT", "/members", {"POST"}),
            ("GET", "/events", {"POST"}),
            ("POST", "/codes/ABC", {"GET"}),
            ("PATCH", "/members/c-1/redemptions", {"GET", "POST"}),
        ],
    )
    def test_405_says_what_is_allowed(self, client, auth, method, path, allowed):
        answer = client.open(f"{API}{path}", method=method, headers=auth)
        assert answer.status_code == 405 and answer.json["code"] == "method_not_allowed"
        assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}
