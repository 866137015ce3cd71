"""``POST /api/v1/referrals`` and ``GET /api/v1/members/<id>/referrals``: every answer and error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from loyalty.access.api_keys import create_key
from loyalty.models import Referral
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.referrals import set_terms
from tests.helpers import snapshot

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(session, program, clock, registry):
    set_terms(program, registry, referrer_points=300, friend_points=100, review_days=7)
    session.commit()
    return {"Authorization": f"Bearer {create_key(session, program, name='shop', clock=clock).secret}"}


@pytest.fixture
def ann(member_factory, auth):
    return member_factory("c-ann", email="ann@example.com")


def refer(client, auth, code, friend, **extra):
    return client.post(
        f"{API}/referrals", json={"code": code, "friend": {"external_id": friend, **extra}}, headers=auth
    )


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Referral))


class TestAttribute:
    def test_attribute_then_again(self, client, session, auth, ann):
        first = refer(client, auth, ann.referral_code.lower(), "f-1", email="f1@example.com")
        assert first.status_code == 201
        body = first.json
        assert (body["status"], body["referrer"], body["code"], body["via"]) == (
            "pending",
            "c-ann",
            ann.referral_code,
            "api",
        )
        assert body["friend"] == {"external_id": "f-1", "email": "f1@example.com"} and body["order_id"] is None
        again = refer(client, auth, ann.referral_code, "f-1")
        assert again.status_code == 200 and again.json["id"] == body["id"]
        assert count(session) == 1

    def test_a_fraud_check_answers_with_the_decision(self, client, session, auth, ann):
        answer = refer(client, auth, ann.referral_code, "c-ann")
        assert answer.status_code == 201
        assert answer.json["status"] == "rejected" and "the friend is the referrer" in answer.json["reason"]

    def test_already_referred_with_another_code(self, client, session, auth, ann, member_factory):
        ben = member_factory("c-ben")
        refer(client, auth, ann.referral_code, "f-1")
        before = (snapshot(session), count(session))
        answer = refer(client, auth, ben.referral_code, "f-1")
        assert answer.status_code == 409 and answer.json["code"] == "already_referred"
        assert (snapshot(session), count(session)) == before

    def test_unknown_code(self, client, session, auth, ann):
        answer = refer(client, auth, "NOSUCHCD", "f-1")
        assert answer.status_code == 404 and answer.json["code"] == "unknown_referral_code"
        assert count(session) == 0

    def test_program_without_referrals(self, client, session, program, auth, ann, registry):
        set_terms(program, registry, enabled=False)
        session.commit()
        answer = refer(client, auth, ann.referral_code, "f-1")
        assert answer.status_code == 409 and answer.json["code"] == "referrals_disabled"
        assert count(session) == 0

    @pytest.mark.parametrize(
        "body",
        [
            {"friend": {"external_id": "f-1"}},
            {"code": "ABC"},
            {"code": "ABC", "friend": {}},
            {"code": "ABC", "friend": {"external_id": "   "}},
            {"code": "ABC", "friend": {"external_id": "f\x00"}},
            {"code": "ABC", "friend": {"external_id": "f-1", "email": "not an email"}},
            {"code": "ABC", "friend": {"external_id": "f-1"}, "ip": "not-an-ip; drop"},
            {"code": "A" * 33, "friend": {"external_id": "f-1"}},
        ],
    )
    def test_invalid_requests(self, client, session, auth, ann, body):
        answer = client.post(f"{API}/referrals", json=body, headers=auth)
        assert answer.status_code == 422 and answer.json["code"] == "validation_error"
        assert count(session) == 0

    def test_another_programs_code_is_unknown(self, client, session, auth, clock):
        other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
        stranger, _ = enrol(session, other, external_id="c-x", clock=clock)
        session.commit()
        answer = refer(client, auth, stranger.referral_code, "f-1")
        assert answer.status_code == 404 and count(session) == 0


class TestList:
    def test_a_members_referrals_newest_first_with_status(self, client, session, auth, ann, member_factory):
        refer(client, auth, ann.referral_code, "f-1")
        refer(client, auth, ann.referral_code, "c-ann")  # rejected
        refer(client, auth, member_factory("c-ben").referral_code, "f-2")  # Ben's, not Ann's
        answer = client.get(f"{API}/members/c-ann/referrals", headers=auth)
        assert answer.status_code == 200
        rows = answer.json["data"]
        assert [(r["friend"]["external_id"], r["status"]) for r in rows] == [("c-ann", "rejected"), ("f-1", "pending")]
        assert rows[0]["reason"] and answer.json["next_cursor"] is None
        only = client.get(f"{API}/members/c-ann/referrals?status=pending", headers=auth).json["data"]
        assert [r["friend"]["external_id"] for r in only] == ["f-1"]

    def test_pages(self, client, session, auth, ann):
        for n in range(5):
            refer(client, auth, ann.referral_code, f"f-{n}")
        seen, cursor = [], None
        while True:
            page = client.get(
                f"{API}/members/c-ann/referrals?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=auth
            ).json
            seen += [r["friend"]["external_id"] for r in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"f-{n}" for n in reversed(range(5))]

    def test_unknown_member_and_bad_arguments(self, client, auth, ann):
        assert client.get(f"{API}/members/ghost/referrals", headers=auth).status_code == 404
        assert client.get(f"{API}/members/c-ann/referrals?status=won", headers=auth).status_code == 422
        assert client.get(f"{API}/members/c-ann/referrals?limit=0", headers=auth).status_code == 422

    def test_another_programs_member_is_unknown(self, client, session, auth, clock):
        other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
        enrol(session, other, external_id="c-x", clock=clock)
        session.commit()
        assert client.get(f"{API}/members/c-x/referrals", headers=auth).status_code == 404
