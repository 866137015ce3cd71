"""The demo's receiver of outbound webhooks (``loyalty demo-receiver``), and ``loyalty demo --receiver-url``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from standardwebhooks import Webhook
from werkzeug.test import Client

from loyalty.cli.demo_receiver import receiver_app
from loyalty.db import db
from loyalty.messages.destinations import find
from loyalty.models import Delivery, OutboxEvent
from loyalty.programs.program import get_program
from tests.helpers.live_server import free_port, threaded

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT = {
    "id": "evt_1",
    "type": "points.earned",
    "created_at": "2026-12-03T10:00:00Z",
    "program": "demo",
    "data": {"member": {"external_id": "cust-ann", "email": None, "name": "Ann"}, "points": 40},
}


def signed(event, webhook_id="evt_1", secret=SECRET) -> tuple[bytes, dict]:
    body = json.dumps(event)
    now = datetime.now(timezone.utc)
    return body.encode(), {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }


@pytest.fixture
def printed():
    return []


@pytest.fixture
def receiver(printed):
    return Client(receiver_app(lambda: ["whsec_" + "b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhl", SECRET], printed.append))


def test_a_signed_event_is_kept_once_and_printed(receiver, printed):
    body, headers = signed(EVENT)
    assert receiver.post("/hooks", data=body, headers=headers).status_code == 204
    assert receiver.post("/hooks", data=body, headers=headers).status_code == 204  # a retry: answered, not kept twice
    assert receiver.get("/events").json == [EVENT]
    assert printed == ["received points.earned        cust-ann   +40 points  (evt_1)"]


def test_a_bad_signature_and_odd_requests_are_refused_and_nothing_kept(receiver, printed):
    body, headers = signed(EVENT, secret="whsec_" + "d3Jvbmd3cm9uZ3dyb25nd3Jvbmd3cm9u")
    assert receiver.post("/hooks", data=body, headers=headers).status_code == 401
    body, headers = signed(EVENT)
    assert receiver.post("/hooks", data=body + b" ", headers=headers).status_code == 401  # the body changed
    list_body, list_headers = signed([1, 2])
    assert receiver.post("/hooks", data=list_body, headers=list_headers).status_code == 400
    assert receiver.get("/hooks").status_code == 404 and receiver.post("/other").status_code == 404
    assert receiver.get("/events").json == []
    assert all(line.startswith("refused") for line in printed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"]),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ),
)
def test_hostile_requests_never_get_a_500(receiver, body, headers):
    assert receiver.post("/hooks", data=body, headers=headers).status_code in (204, 400, 401, 413)


def test_the_demo_sends_its_events_to_the_receiver_and_prints_the_last_ones(app, runner, session):
    printed = []

    def secrets():
        with app.app_context():
            try:
                return [d.config["secret"] for d in find(db.session, channel="webhook")]
            finally:
                db.session.remove()

    with threaded(receiver_app(secrets, printed.append)) as url:
        first = runner.invoke(args=["demo", "--receiver-url", url])
        assert first.exit_code == 0, first.output
        again = runner.invoke(args=["demo", "--receiver-url", url])
        assert again.exit_code == 0, again.output
    program = get_program(session, "demo")
    endpoints = find(session, program=program, channel="webhook")
    assert [d.config["url"] for d in endpoints] == [f"{url}/hooks"]  # added once
    assert "Outbound webhooks: endpoint" in first.output and "The receiver verified and got, lately:" in first.output
    assert "deliveries wait" not in first.output
    sent = set(session.scalars(select(OutboxEvent.uid).join(Delivery, Delivery.event_id == OutboxEvent.id)))
    received = {line.rsplit("(", 1)[1].rstrip(")") for line in printed}
    assert sent == received and len(sent) >= 2  # every event the demo made, the two test events among them
    assert not [line for line in printed if line.startswith("refused")]
    assert not session.scalar(select(Delivery).where(Delivery.status != "delivered"))


def test_without_a_receiver_the_demo_says_what_waits(runner):
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(args=["demo", "--receiver-url", url])
    assert result.exit_code == 0, result.output
    assert "deliveries wait for the receiver: loyalty demo-receiver --bind 127.0.0.1:" in result.output
    assert f"The receiver at {url} did not answer." in result.output
