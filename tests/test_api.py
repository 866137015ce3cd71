"""The REST API: every endpoint, its errors, isolation between programs, pagination, idempotency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from loyalty.access.api_keys import create_key, revoke_key
from loyalty.ledger import Ledger
from loyalty.models import ApiKey, Entry, Member
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.tiers.levels import add_tier, set_member_tier
from tests.helpers import available, snapshot

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def key(session, program, clock):
    new = create_key(session, program, name="storefront", clock=clock)
    session.commit()
    return new.secret


@pytest.fixture
def auth(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def other(session, clock):
    """Another program, with a member whose external id also exists in acme."""
    program = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
    member, _ = enrol(session, program, external_id="c-1", email="other@example.com", clock=clock)
    Ledger(session, clock).earn(member, 500, key="other:seed")
    session.commit()
    return program


def entries(session) -> int:
    return session.scalar(select(func.count()).select_from(Entry))


class TestAuthentication:
    def test_no_key_bad_key_and_revoked_key_are_401(self, client, session, program, key, clock):
        assert client.get(f"{API}/members/c-1").status_code == 401
        for header in ("Bearer lk_nothing_here", f"Bearer {key}x", f"Basic {key}", "Bearer "):
            answer = client.get(f"{API}/members/c-1", headers={"Authorization": header})
            assert answer.status_code == 401 and answer.json["code"] == "unauthorized"
        revoke_key(session, program, key[:11], clock=clock)
        session.commit()
        assert client.get(f"{API}/members/c-1", headers={"Authorization": f"Bearer {key}"}).status_code == 401

    def test_a_read_only_key_cannot_write(self, client, session, program, clock):
        reader = create_key(session, program, name="dashboard", scopes=["read"], clock=clock).secret
        session.commit()
        before = snapshot(session)
        answer = client.post(
            f"{API}/members", json={"external_id": "c-9"}, headers={"Authorization": f"Bearer {reader}"}
        )
        assert answer.status_code == 403 and answer.json["code"] == "insufficient_scope"
        assert snapshot(session) == before and session.scalar(select(func.count()).select_from(Member)) == 0

    def test_last_used_is_recorded(self, client, session, member, auth):
        assert client.get(f"{API}/members/c-1", headers=auth).status_code == 200
        session.expire_all()
        assert session.scalar(select(ApiKey.last_used_at)) is not None


class TestMembers:
    def test_enrol_is_idempotent_on_external_id(self, client, session, auth, add_rule):
        add_rule("signup_bonus", {"points": 50}, name="Welcome")
        first = client.post(f"{API}/members", json={"external_id": "c-7", "email": "eve@example.com"}, headers=auth)
        assert first.status_code == 201
        assert first.json["balances"] == {"available": 50, "pending": 0, "lifetime_earned": 50}
        again = client.post(f"{API}/members", json={"external_id": "c-7", "name": "Eve"}, headers=auth)
        assert again.status_code == 200 and again.json["email"] == "eve@example.com"
        assert again.json["balances"]["available"] == 50  # the welcome bonus once

    @pytest.mark.parametrize(
        "body, field",
        [
            ({}, "external_id"),
            ({"external_id": ""}, "external_id"),
            ({"external_id": "   "}, "external_id"),
            ({"external_id": "x" * 256}, "external_id"),
            ({"external_id": "c-2", "email": "not-an-address"}, "email"),
            ({"external_id": "c-2", "birthday": "31/12/1990"}, "birthday"),
            ({"external_id": "c-2", "surprise": 1}, "surprise"),
        ],
    )
    def test_invalid_enrolment_is_422_with_field_errors(self, client, session, auth, body, field):
        answer = client.post(f"{API}/members", json=body, headers=auth)
        assert answer.status_code == 422 and answer.json["code"] == "validation_error"
        assert field in answer.json["errors"]["json"]
        assert session.scalar(select(func.count()).select_from(Member)) == 0

    def test_not_json_is_refused(self, client, auth):
        answer = client.post(
            f"{API}/members", data="external_id=c-2", headers=auth, content_type="application/x-www-form-urlencoded"
        )
        assert answer.status_code == 422 and "code" in answer.json

    def test_read_a_member(self, client, session, program, member, auth, clock, registry):
        ledger = Ledger(session, clock)
        earned = ledger.earn(member, 120, key="seed")
        ledger.earn(member, 30, key="seed-pending", pending=True, release_at=clock.now() + timedelta(days=7))
        ledger.redeem(member, 20, key="spend")
        ledger.reverse(earned.entry_id, 10, key="refund", reason="refund", actor="test")
        set_member_tier(
            session,
            member,
            add_tier(session, program, name="Gold", rank=2, earn_multiplier="1.5", clock=clock),
            clock=clock,
            registry=registry,
        )
        session.commit()
        body = client.get(f"{API}/members/c-1", headers=auth).json
        assert body["external_id"] == "c-1" and body["email"] == "ann@example.com" and body["status"] == "active"
        assert body["tier"] == {"name": "Gold", "rank": 2, "earn_multiplier": "1.5", "perks": None}
        assert body["tier_progress"] is None  # tiers given by hand
        assert body["balances"] == {"available": 90, "pending": 30, "lifetime_earned": 140}

    def test_unknown_member_is_404(self, client, auth):
        answer = client.get(f"{API}/members/nobody", headers=auth)
        assert answer.status_code == 404 and answer.json["code"] == "unknown_member"


class TestIsolation:
    def test_a_key_never_reaches_another_programs_member(self, client, session, other, auth):
        before = snapshot(session)
        assert client.get(f"{API}/members/c-1", headers=auth).status_code == 404
        assert client.get(f"{API}/members/c-1/transactions", headers=auth).status_code == 404
        answer = client.post(
            f"{API}/members/c-1/adjustments",
            json={"points": -100, "reason": "steal"},
            headers={**auth, "Idempotency-Key": "x-1"},
        )
        assert answer.status_code == 404
        assert snapshot(session) == before
        assert available(session, other, "c-1") == 500

    def test_the_same_external_id_in_two_programs_are_two_members(self, client, session, other, member, auth):
        assert client.get(f"{API}/members/c-1", headers=auth).json["email"] == "ann@example.com"


class TestTransactions:
    def test_pages_are_stable_while_new_entries_arrive(self, client, session, member, auth, clock):
        ledger = Ledger(session, clock)
        for n in range(25):
            ledger.earn(member, n + 1, key=f"seed-{n}")
        session.commit()
        seen, cursor, pages = [], None, 0
        while True:
            query = {"limit": 10, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{API}/members/c-1/transactions", query_string=query, headers=auth).json
            seen += [line["id"] for line in page["data"]]
            pages += 1
            ledger.earn(member, 1000, key=f"meanwhile-{pages}")  # arrives while the client pages
            session.commit()
            cursor = page["next_cursor"]
            if cursor is None:
                break
        originals = session.scalars(
            select(Entry.id).where(Entry.idempotency_key.like("seed-%")).order_by(Entry.id.desc())
        ).all()
        assert seen == originals and pages == 3

    def test_lines_say_what_each_entry_did(self, client, session, member, auth, clock):
        ledger = Ledger(session, clock)
        ledger.earn(member, 100, key="seed")
        ledger.adjust(member, -40, key="fix", reason="goodwill reversed", actor="cli:ops")
        session.commit()
        lines = client.get(f"{API}/members/c-1/transactions", headers=auth).json["data"]
        assert [(line["kind"], line["available"], line["reason"], line["actor"]) for line in lines] == [
            ("adjust", -40, "goodwill reversed", "cli:ops"),
            ("earn", 100, None, None),
        ]

    @pytest.mark.parametrize(
        "query",
        [
            {"cursor": "nonsense!"},
            {"cursor": "ABC"},
            {"cursor": "z" * 13},
            {"limit": 0},
            {"limit": 101},
            {"limit": "ten"},
        ],
    )
    def test_bad_paging_is_422(self, client, member, auth, query):
        answer = client.get(f"{API}/members/c-1/transactions", query_string=query, headers=auth)
        assert answer.status_code == 422 and answer.json["code"] in ("invalid_cursor", "validation_error")


class TestAdjustments:
    def post(self, client, auth, body, key="adj-1", member="c-1"):
        headers = {**auth, **({"Idempotency-Key": key} if key is not None else {})}
        return client.post(f"{API}/members/{member}/adjustments", json=body, headers=headers)

    def test_credit_then_replay_then_conflict(self, client, session, program, member, auth):
        first = self.post(client, auth, {"points": 75, "reason": "Sorry for the delay"})
        assert first.status_code == 201
        assert first.json["points"] == 75 and first.json["balances"]["available"] == 75
        entry = session.get(Entry, first.json["entry_id"])
        assert entry.actor == "api:storefront" and entry.reason == "Sorry for the delay"
        again = self.post(client, auth, {"points": 75, "reason": "Sorry for the delay"})
        assert again.status_code == 201 and again.json == first.json
        assert again.headers["Idempotent-Replayed"] == "true"
        before = snapshot(session)
        other = self.post(client, auth, {"points": 80, "reason": "Sorry for the delay"})
        assert other.status_code == 409 and other.json["code"] == "idempotency_conflict"
        assert snapshot(session) == before and available(session, program, "c-1") == 75

    def test_debit_and_overspend(self, client, session, member, auth, clock):
        Ledger(session, clock).earn(member, 50, key="seed")
        session.commit()
        debit = self.post(client, auth, {"points": -20, "reason": "Returned gift"}, key="d-1")
        assert debit.status_code == 201 and debit.json["points"] == -20 and debit.json["balances"]["available"] == 30
        before = snapshot(session)
        over = self.post(client, auth, {"points": -31, "reason": "Too much"}, key="d-2")
        assert over.status_code == 409 and over.json["code"] == "insufficient_points"
        assert snapshot(session) == before

    @pytest.mark.parametrize(
        "body, idempotency_key, code",
        [
            ({"points": 10, "reason": "x"}, None, "idempotency_key_required"),
            ({"points": 10, "reason": "x"}, "", "invalid_idempotency_key"),
            ({"points": 10, "reason": "x"}, "k" * 256, "invalid_idempotency_key"),
            ({"points": 0, "reason": "x"}, "z-1", "validation_error"),
            ({"points": 1.5, "reason": "x"}, "z-2", "validation_error"),
            ({"points": "10", "reason": "x"}, "z-3", "validation_error"),
            ({"points": 10}, "z-4", "validation_error"),
            ({"points": 10, "reason": "  "}, "z-5", "validation_error"),
            ({"points": 10**13, "reason": "x"}, "z-6", "validation_error"),
            ({"points": 10, "reason": "x", "expires_at": "2027-01-01T00:00:00"}, "z-7", "validation_error"),
        ],
    )
    def test_invalid_adjustments_change_nothing(self, client, session, member, auth, body, idempotency_key, code):
        before = snapshot(session)
        answer = self.post(client, auth, body, key=idempotency_key)
        assert answer.status_code == 422 and answer.json["code"] == code
        assert snapshot(session) == before

    def test_unknown_member(self, client, session, auth):
        answer = self.post(client, auth, {"points": 10, "reason": "x"}, member="ghost")
        assert answer.status_code == 404 and answer.json["code"] == "unknown_member"

    def test_one_key_from_many_threads_posts_once(self, app, program, member, auth, session, is_postgres):
        if not is_postgres:
            pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
        answers, barrier = [], threading.Barrier(8)

        def call():
            with app.app_context():
                barrier.wait()
                answers.append(self.post(app.test_client(), auth, {"points": 5, "reason": "race"}, key="race-1"))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {answer.status_code for answer in answers} == {201}
        assert len({answer.json["entry_id"] for answer in answers}) == 1
        session.expire_all()
        assert available(session, program, "c-1") == 5


class TestEvents:
    def test_custom_event_earns_once(self, client, session, auth, add_rule):
        add_rule("custom_event", {"event_name": "review_written", "points": 25}, name="Reviews")
        body = {
            "event_id": "rev-1",
            "name": "review_written",
            "member": {"external_id": "c-5"},
            "properties": {"stars": 5},
        }
        first = client.post(f"{API}/events", json=body, headers=auth)
        assert first.status_code == 201 and first.json["status"] == "processed" and first.json["points"] == 25
        again = client.post(f"{API}/events", json=body, headers=auth)
        assert again.status_code == 200 and again.json["status"] == "duplicate" and again.json["points"] == 0
        assert client.get(f"{API}/members/c-5", headers=auth).json["balances"]["available"] == 25

    def test_event_replays_on_idempotency_key(self, client, auth, add_rule):
        add_rule("custom_event", {"event_name": "follow", "points": 5}, name="Follow")
        body = {"event_id": "f-1", "name": "follow", "member": {"external_id": "c-6"}}
        headers = {**auth, "Idempotency-Key": "evt-1"}
        first = client.post(f"{API}/events", json=body, headers=headers)
        again = client.post(f"{API}/events", json=body, headers=headers)
        assert first.status_code == again.status_code == 201 and again.json == first.json
        clash = client.post(f"{API}/events", json={**body, "event_id": "f-2"}, headers=headers)
        assert clash.status_code == 409

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x", "member": {"external_id": "c-1"}},
            {"event_id": "e", "member": {"external_id": "c-1"}},
            {"event_id": "e", "name": "x"},
            {"event_id": "e", "name": "x", "member": {}},
            {"event_id": "e", "name": "x", "member": {"external_id": "c-1"}, "properties": []},
        ],
    )
    def test_invalid_events_are_422(self, client, session, auth, body):
        before = snapshot(session)
        answer = client.post(f"{API}/events", json=body, headers=auth)
        assert answer.status_code == 422 and answer.json["code"] == "validation_error"
        assert snapshot(session) == before


class TestDocument:
    def test_openapi_document_and_page(self, client):
        document = client.get(f"{API}/openapi.json")
        assert document.status_code == 200
        spec = document.json
        assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
        assert {
            "/api/v1/members",
            "/api/v1/members/{external_id}",
            "/api/v1/members/{external_id}/transactions",
            "/api/v1/members/{external_id}/adjustments",
            "/api/v1/events",
        } <= set(spec["paths"])
        assert spec["components"]["schemas"]["Error"]["properties"]["code"]["type"] == "string"
        page = client.get(f"{API}/docs")
        assert page.status_code == 200 and b"swagger" in page.data.lower()

    def test_no_stack_trace_reaches_a_client(self, client, member, auth, monkeypatch):
        import loyalty.api.v1.members as members

        def broken(*args, **kwargs):
            raise RuntimeError("secret internals")

        monkeypatch.setattr(members, "lifetime_earned", broken)
        answer = client.get(f"{API}/members/c-1", headers=auth)
        assert answer.status_code == 500 and answer.json["code"] == "internal_error"
        assert b"secret internals" not in answer.data and b"Traceback" not in answer.data

    def test_unknown_api_path_is_json_404(self, client, auth):
        answer = client.get(f"{API}/nothing-here", headers=auth)
        assert answer.status_code == 404 and answer.json["code"] == "not_found"


def test_concurrent_enrolments_and_events_are_one(app, session, program, auth, is_postgres, add_rule):
    """The same customer enrolled, and the same event sent, from 8 threads at once: one each, no 500."""
    if not is_postgres:
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
    add_rule("custom_event", {"event_name": "review", "points": 5}, name="Reviews")
    for path, body in (
        ("/members", {"external_id": "c-race"}),
        ("/events", {"event_id": "e-race", "name": "review", "member": {"external_id": "c-race2"}}),
    ):
        answers, barrier = [], threading.Barrier(8)

        def call():
            with app.app_context():
                barrier.wait()
                answers.append(app.test_client().post(f"{API}{path}", json=body, headers=auth))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] * 7 + [201], [answer.json for answer in answers]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Member).where(Member.external_id.like("c-race%"))) == 2
    assert available(session, program, "c-race2") == 5
