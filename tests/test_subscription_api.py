"""A member's opt-out through the store's API and the widget's member API; every channel to members honours it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.messages import outbox, sending
from loyalty.models import Delivery, Destination
from loyalty.programs.members import enrol
from tests.helpers import channels
from tests.helpers.member_api import MEMBER, ORIGIN, bearer, enable_widget, jwt_for

pytestmark = pytest.mark.plugins(channels.Plugin())


@pytest.fixture
def ann(session, program, clock):
    member, _ = enrol(session, program, external_id="team/ann", email="ann@example.com", name="Ann", clock=clock)
    session.commit()
    return member


def opted_out(session, member):
    session.expire_all()
    return member.unsubscribed_at is not None


class TestStoreApi:
    def test_the_member_shows_subscribed_and_a_patch_changes_it(self, loyalty_api, session, ann):
        assert loyalty_api.get("/api/v1/members/team%2Fann").json["subscribed"] is True
        answer = loyalty_api.patch("/api/v1/members/team%2Fann", json={"subscribed": False})
        assert answer.status_code == 200 and answer.json["subscribed"] is False
        assert opted_out(session, ann)
        assert loyalty_api.get("/api/v1/members/team%2Fann").json["subscribed"] is False
        assert loyalty_api.patch("/api/v1/members/team%2Fann", json={"subscribed": True}).json["subscribed"] is True
        assert not opted_out(session, ann)

    @pytest.mark.parametrize("body", [{}, {"subscribed": "maybe"}, {"subscribed": None}, {"email": "x@y.z"}, []])
    def test_a_wrong_body_is_refused_and_changes_nothing(self, loyalty_api, session, ann, body):
        answer = loyalty_api.patch("/api/v1/members/team%2Fann", json=body)
        assert answer.status_code == 422, answer.json
        assert not opted_out(session, ann)

    def test_an_unknown_member_is_a_404(self, loyalty_api, ann):
        assert loyalty_api.patch("/api/v1/members/nobody", json={"subscribed": False}).status_code == 404


class TestMemberApi:
    @pytest.fixture
    def token(self, session, program, clock, ann):
        secret = enable_widget(session, program, clock)
        return bearer(jwt_for(secret, "team/ann", clock))

    def test_me_shows_it_and_the_member_changes_it_from_the_widget(self, app, session, ann, token):
        client = app.test_client()
        headers = {**token, "Origin": ORIGIN}
        assert client.get(f"{MEMBER}/acme/me", headers=headers).json["subscribed"] is True
        answer = client.put(f"{MEMBER}/acme/me/subscription", json={"subscribed": False}, headers=headers)
        assert answer.status_code == 200 and answer.json == {"subscribed": False}
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert opted_out(session, ann)
        assert client.get(f"{MEMBER}/acme/me", headers=headers).json["subscribed"] is False
        preflight = client.options(
            f"{MEMBER}/acme/me/subscription", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]

    def test_without_a_token_or_with_a_wrong_body_nothing_changes(self, app, session, ann, token):
        client = app.test_client()
        assert client.put(f"{MEMBER}/acme/me/subscription", json={"subscribed": False}).status_code == 401
        for body in ({}, {"subscribed": "no"}, "false"):
            assert client.put(f"{MEMBER}/acme/me/subscription", json=body, headers=token).status_code == 422
        assert not opted_out(session, ann)


def test_an_opted_out_member_gets_nothing_from_any_channel_to_members_but_webhooks_still_carry_the_event(
    app, loyalty_api, session, registry, clock, program, ann
):
    channels.reset()
    for name in ("to_members", "recorder"):
        session.add(
            Destination(
                program_id=program.id,
                channel=name,
                name=name,
                events=["*"],
                config={},
                status="active",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    session.commit()
    loyalty_api.patch("/api/v1/members/team%2Fann", json={"subscribed": False})
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=ann.id, data={"points": 5})
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    session.commit()
    assert channels.TO_MEMBERS.messages == []
    assert [m.event_type for m in channels.RECORDER.messages if m.event_type == "points.earned"] == ["points.earned"]
    statuses = {d.status for d in session.scalars(select(Delivery).where(Delivery.event_type == "points.earned"))}
    assert statuses == {"skipped", "delivered"}
    channels.reset()
