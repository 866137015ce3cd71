"""``loyalty outbound …``: endpoints added, listed, rotated, removed; deliveries sent, listed and replayed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from loyalty.messages import addresses, outbox, sending
from loyalty.models import Delivery, Destination
from tests.helpers.cli import fails, ok
from tests.helpers.receiver import Receiver

PUBLIC = "93.184.215.14"


def secret_in(output: str) -> str:
    [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", output)
    return secret


@pytest.fixture
def public_dns(monkeypatch):
    """Every host name resolves to one public address (no DNS in the tests)."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [PUBLIC])


@pytest.fixture
def receiver(app):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # as LOYALTY_OUTBOUND_ALLOW_PRIVATE=true: it listens on 127.0.0.1
    with Receiver() as running:
        yield running


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_add_prints_the_secret_once_and_list_shows_it_masked(runner, program, public_dns):
    added = ok(
        runner,
        "outbound",
        "add",
        "--program",
        "acme",
        "--url",
        "https://hooks.example/loyalty",
        "--events",
        "points.earned,tier.changed",
    )
    secret = secret_in(added)
    assert "Endpoint 1 of acme: https://hooks.example/loyalty, for points.earned, tier.changed." in added
    assert "shown only now" in added
    listed = ok(runner, "outbound", "list")
    assert "https://hooks.example/loyalty" in listed and "active" in listed
    assert secret not in listed and f"whsec_…{secret[-4:]}" in listed
    everything = ok(runner, "outbound", "add", "--program", "acme", "--url", "https://b.example/", "--events", "all")
    assert "for all events" in everything
    assert "all events" in ok(runner, "outbound", "list", "--program", "acme")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://hooks.example/x", "only http and https"),
        ("http://127.0.0.1:8621/", "a loopback address"),
        ("http://[::1]/", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.1.2.3/", "a private address"),
        ("http://localhost/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "inside an IPv6 address"),
        ("https://hooks.example/" + "x" * 2100, "at most 2000"),
        ("https://hooks.example/\x00", "control characters"),
    ],
)
def test_hostile_urls_are_refused_at_add_and_change_nothing(runner, session, program, url, words):
    said = fails(runner, "outbound", "add", "--program", "acme", "--url", url, "--events", "all")
    assert words in said and "[invalid_input]" in said
    assert count(session, Destination) == 0


def test_other_bad_adds_say_what_is_wrong(runner, session, program, public_dns):
    base = ("outbound", "add", "--program", "acme", "--url", "https://hooks.example/")
    assert "unknown event type points.earnt" in fails(runner, *base, "--events", "points.earnt")
    assert "name at least one event type" in fails(runner, *base, "--events", ",")
    assert "unknown_program" in fails(
        runner, "outbound", "add", "--program", "nope", "--url", "https://a.example/", "--events", "all"
    )
    assert "give the endpoint's URL" in fails(runner, "outbound", "add", "--program", "acme", "--events", "all")
    assert "no notification channel 'sms'" in fails(runner, *base, "--events", "all", "--channel", "sms")
    assert "must be a JSON object" in fails(runner, *base, "--events", "all", "--config", "[1]")
    assert "whsec_" in fails(runner, *base, "--events", "all", "--config", '{"secret": "plain"}')
    assert count(session, Destination) == 0


def test_send_retry_deliveries_and_replay(app, runner, session, clock, program, loyalty_enrol, receiver):
    member = loyalty_enrol("c-1", email="c-1@example.com", name="Ann")
    receiver.secret = secret_in(
        ok(runner, "outbound", "add", "--program", "acme", "--url", receiver.url, "--events", "points.earned")
    )
    receiver.script = [500]
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 10})
    session.commit()
    sent = ok(runner, "outbound", "send")
    assert "1 pending" in sent and "retried later" in sent
    failed_once = ok(runner, "outbound", "deliveries", "--status", "pending")
    assert "points.earned" in failed_once and "tries 1" in failed_once and "code 500" in failed_once
    assert "HTTP 500" in failed_once and "next " in failed_once
    assert "Deliveries: none were due" in ok(runner, "outbound", "send")  # not due yet
    clock.advance(sending.BACKOFF[0])
    assert "1 delivered" in ok(runner, "outbound", "send")
    delivered = ok(runner, "outbound", "deliveries", "--status", "delivered")
    delivery_id = delivered.split()[0]
    assert "tries 2" in delivered and "code 200" in delivered
    assert "No deliveries." in ok(runner, "outbound", "deliveries", "--status", "failed")
    assert "due again" in ok(runner, "outbound", "replay", delivery_id)
    assert "1 delivered" in ok(runner, "outbound", "send")
    ids = receiver.ids()
    assert len(ids) == 3 and len(set(ids)) == 1  # one event: its first try, its retry, its replay
    assert all(r.error is None for r in receiver.requests)
    assert "pending already" not in ok(runner, "outbound", "deliveries")
    session.get(Delivery, int(delivery_id)).status = "pending"
    session.commit()
    assert "is pending already" in fails(runner, "outbound", "replay", delivery_id)
    assert "no outbound delivery 99999" in fails(runner, "outbound", "replay", "99999")


def test_rotate_signs_with_the_new_secret_at_once(app, runner, session, clock, program, loyalty_enrol, receiver):
    member = loyalty_enrol("c-1")
    old = secret_in(ok(runner, "outbound", "add", "--program", "acme", "--url", receiver.url, "--events", "all"))
    rotated = ok(runner, "outbound", "rotate", "1")
    new = secret_in(rotated)
    assert new != old and "shown only now" in rotated
    receiver.secret = old
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
    session.commit()
    ok(runner, "outbound", "send")
    assert receiver.requests and all(r.payload is None for r in receiver.requests)  # the old secret verifies nothing
    receiver.requests.clear()
    receiver.secret = new
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 2})
    session.commit()
    ok(runner, "outbound", "send")
    assert receiver.requests and all(r.error is None for r in receiver.requests)
    assert "no destination 7" in fails(runner, "outbound", "rotate", "7")


def test_a_test_event_goes_to_that_endpoint_only(app, runner, session, program, receiver):
    receiver.secret = secret_in(
        ok(runner, "outbound", "add", "--program", "acme", "--url", receiver.url, "--events", "tier.changed")
    )
    with Receiver() as other:
        ok(runner, "outbound", "add", "--program", "acme", "--url", other.url, "--events", "all")
        assert "queued as delivery" in ok(runner, "outbound", "test", "1", "--type", "reward.redeemed")
        ok(runner, "outbound", "send")
        assert other.requests == []
    [got] = receiver.requests
    assert got.payload["type"] == "reward.redeemed" and got.payload["data"]["test"] is True
    assert got.payload["data"]["member"]["external_id"] == "test-member"
    assert "(test)" in ok(runner, "outbound", "deliveries")
    assert "unknown event type 'points.nope'" in fails(runner, "outbound", "test", "1", "--type", "points.nope")


def test_disable_enable_and_remove(runner, session, program, public_dns):
    ok(runner, "outbound", "add", "--program", "acme", "--url", "https://hooks.example/", "--events", "all")
    assert "disabled" in ok(runner, "outbound", "disable", "1")
    listed = ok(runner, "outbound", "list")
    assert "Disabled by the CLI on" in listed and "loyalty outbound enable 1" in listed
    assert "enable it before sending it a test event" in fails(runner, "outbound", "test", "1")
    assert "active" in ok(runner, "outbound", "enable", "1")
    ok(runner, "outbound", "test", "1")
    assert "unknown_program" in fails(runner, "outbound", "remove", "1", "--program", "other")
    assert "its 1 deliveries" in ok(runner, "outbound", "remove", "1")
    assert "No endpoints." in ok(runner, "outbound", "list")
    assert count(session, Delivery) == 0
    assert "no destination 1" in fails(runner, "outbound", "remove", "1")
