"""The built-in webhook channel against a real local receiver that verifies signatures with ``standardwebhooks``."""

from __future__ import annotations

import json
import shutil
import ssl
from collections import Counter

import pytest
from sqlalchemy import select

from loyalty.messages import addresses, outbox, sending
from loyalty.models import Delivery, Destination
from loyalty.plugins.channels import webhook
from tests.helpers.receiver import Receiver, certificate
from tests.helpers.receiver import message as message_to

SECRET = webhook.new_secret()


def message(url, *, secret=SECRET, **kw):
    return message_to(url, secret=secret, **kw)


@pytest.fixture
def receiver():
    with Receiver(SECRET) as running:
        yield running


def test_a_delivery_is_signed_per_standard_webhooks_and_verifies(receiver):
    outcome = webhook.WEBHOOK.send(message(receiver.url))
    assert (outcome.status, outcome.code) == ("delivered", 200)
    [got] = receiver.requests
    assert got.error is None and got.payload["data"] == {"points": 5, "note": "café"}
    assert got.headers["webhook-id"] == "evt_0123456789abcdef"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("loyalty-platform/")
    assert got.body == webhook.body_of(got.payload).encode()  # compact, sorted: the same bytes every time
    assert b" " not in got.body.replace(b"caf\xc3\xa9", b"")


def test_another_secret_does_not_verify(receiver):
    webhook.WEBHOOK.send(message(receiver.url, secret=webhook.new_secret()))
    assert receiver.requests[0].payload is None and "signature" in receiver.requests[0].error.lower()


def test_a_server_error_is_retried_with_its_code(receiver):
    receiver.script = [500]
    outcome = webhook.WEBHOOK.send(message(receiver.url))
    assert (outcome.status, outcome.code) == ("retry", 500) and outcome.detail.startswith("HTTP 500")


def test_a_redirect_is_not_followed(receiver):
    receiver.script = [("redirect", receiver.url + "/elsewhere")]
    outcome = webhook.WEBHOOK.send(message(receiver.url))
    assert (outcome.status, outcome.code) == ("retry", 302)
    assert f"redirect to {receiver.url}/elsewhere not followed" in outcome.detail
    assert [r.path for r in receiver.requests] == ["/hooks"]


def test_a_slow_receiver_times_out(receiver, monkeypatch):
    monkeypatch.setattr(webhook, "TIMEOUT", 0.3)
    receiver.script = [("sleep", 1.5)]
    outcome = webhook.WEBHOOK.send(message(receiver.url))
    assert (outcome.status, outcome.code, outcome.detail) == ("retry", None, "timed out after 0.3 s")


def test_nobody_listening_is_a_retry():
    with Receiver(SECRET) as gone:
        url = gone.url
    outcome = webhook.WEBHOOK.send(message(url))
    assert outcome.status == "retry" and outcome.detail.startswith("could not connect")


def test_a_private_address_is_refused_at_send_and_never_called(receiver):
    outcome = webhook.WEBHOOK.send(message(receiver.url, settings={}))
    assert outcome.status == "retry"
    assert "resolves to 127.0.0.1, a loopback address" in outcome.detail and outcome.detail.startswith("not sent")
    assert receiver.requests == []


def test_dns_that_changes_after_the_check_is_checked_again(receiver, monkeypatch):
    """DNS rebinding: public when the endpoint was added, loopback at send time. Refused, never connected."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    monkeypatch.setattr(addresses, "resolve", lambda host, port: next(answers))
    url = f"http://rebind.test:{receiver.port}/hooks"
    assert webhook.WEBHOOK.refuses({"url": url}, {}) is None
    outcome = webhook.WEBHOOK.send(message(url, settings={}))
    assert outcome.status == "retry" and "rebind.test resolves to 127.0.0.1" in outcome.detail
    assert receiver.requests == []


def test_the_request_goes_to_the_address_that_was_checked(receiver, monkeypatch):
    """``pinned.test`` exists in no DNS: the request arrives only because the checked address is used, by name."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(addresses, "refusal", lambda address: None)  # as if 127.0.0.1 were public
    outcome = webhook.WEBHOOK.send(message(f"http://pinned.test:{receiver.port}/hooks", settings={}))
    assert outcome.status == "delivered"
    assert receiver.requests[0].headers["host"] == f"pinned.test:{receiver.port}"


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command to make a certificate")
def test_over_https_the_checked_address_is_used_and_the_certificate_checked_for_the_name(monkeypatch, tmp_path):
    """TLS to the pinned address still verifies the host name (the server name is sent, the certificate checked)."""
    cert, key = certificate(tmp_path, "pinned-tls.test")
    monkeypatch.setattr(webhook, "VERIFY", ssl.create_default_context(cafile=cert))
    monkeypatch.setattr(addresses, "resolve", lambda host, port: ["127.0.0.1"])
    monkeypatch.setattr(addresses, "refusal", lambda address: None)  # as if 127.0.0.1 were public
    with Receiver(SECRET, tls=(cert, key)) as tls:
        outcome = webhook.WEBHOOK.send(message(f"https://pinned-tls.test:{tls.port}/hooks", settings={}))
        assert outcome.status == "delivered" and tls.requests[0].error is None
        assert tls.requests[0].headers["host"] == f"pinned-tls.test:{tls.port}"
        wrong = webhook.WEBHOOK.send(message(f"https://other-name.test:{tls.port}/hooks", settings={}))
        assert wrong.status == "retry" and "certificate" in wrong.detail.lower() and len(tls.requests) == 1


def test_a_malformed_secret_fails_for_good(receiver):
    outcome = webhook.WEBHOOK.send(message(receiver.url, secret="not-a-secret"))
    assert outcome.status == "failed" and "rotate" in outcome.detail and receiver.requests == []


def test_the_schema_makes_a_secret_and_checks_one_given():
    loaded = webhook.WebhookConfig().load({"url": "https://hooks.example/loyalty"})
    assert loaded["secret"].startswith("whsec_") and len(loaded["secret"]) > 40
    with pytest.raises(Exception, match="whsec_"):
        webhook.WebhookConfig().load({"url": "https://hooks.example/x", "secret": "plain"})
    with pytest.raises(Exception, match="only http and https"):
        webhook.WebhookConfig().load({"url": "file:///etc/passwd"})


# --- through the outbox, as the worker sends ---------------------------------


@pytest.fixture
def endpoint(app, session, program, clock, receiver):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    row = Destination(
        program_id=program.id,
        channel="webhook",
        name=receiver.url,
        events=["points.earned", "tier.changed"],
        config={"url": receiver.url, "secret": SECRET},
        status="active",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(row)
    session.commit()
    return row


def test_each_event_arrives_once_and_once_more_only_on_its_retry(
    app, session, registry, clock, program, loyalty_enrol, receiver, endpoint
):
    member = loyalty_enrol("c-1", email="c-1@example.com", name="Ann")
    receiver.script = [500]
    for points in (10, 20, 30):
        outbox.record(
            session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": points}
        )
    outbox.record(session, program.id, "tier.changed", at=clock.now(), member_id=member.id, data={"tier": "Gold"})
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    assert len(receiver.requests) == 4
    clock.advance(sending.BACKOFF[0])
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    assert all(r.error is None for r in receiver.requests)  # every request verified
    counts = Counter(receiver.ids())
    assert sorted(counts.values()) == [1, 1, 1, 2] and len(receiver.requests) == 5
    [retried] = [uid for uid, n in counts.items() if n == 2]
    assert [r.headers["webhook-id"] for r in receiver.requests if r.answered == 500] == [retried]
    assert all(r.payload["id"] == r.headers["webhook-id"] for r in receiver.requests)
    retried_bodies = [r.body for r in receiver.requests if r.headers["webhook-id"] == retried]
    assert retried_bodies[0] == retried_bodies[1]  # the same bytes, newly timestamped and signed
    deliveries = session.scalars(select(Delivery).where(Delivery.destination_id == endpoint.id)).all()
    assert {d.status for d in deliveries} == {"delivered"}
    assert sorted(d.attempts for d in deliveries) == [1, 1, 1, 2]
    assert all(d.response_code == 200 for d in deliveries)
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    assert len(receiver.requests) == 5  # nothing more
    assert json.loads(receiver.requests[-1].body)["program"] == "acme"
