"""The destinations service the CLI and the admin share: what it refuses, and that a refusal changes nothing."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty import errors
from loyalty.messages import addresses, destinations, outbox, sending
from loyalty.models import Delivery, Destination, OutboxEvent
from loyalty.programs.program import create_program
from tests.helpers import channels

pytestmark = pytest.mark.plugins(channels.Plugin())


def _public_dns(host, port):
    """No DNS in the tests: an address resolves to itself, every name to one public address."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return ["93.184.215.14"]


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    channels.reset()
    monkeypatch.setattr(addresses, "resolve", _public_dns)
    yield
    channels.reset()


def add(session, program, clock, registry, app, **overrides):
    arguments = {"channel": "webhook", "config": {"url": "https://hooks.example/a"}, "events": "all"}
    arguments.update(overrides)
    return destinations.add(session, program, clock=clock, registry=registry, settings=app.config, **arguments)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_destination_of_another_program_is_not_found_through_this_one(app, session, clock, registry, program):
    other = create_program(session, slug="other", name="Other", currency="USD", clock=clock)
    theirs = add(session, other, clock, registry, app)
    session.commit()
    with pytest.raises(errors.UnknownDestination, match=f"no destination {theirs.id} in acme"):
        destinations.get(session, theirs.id, program=program)
    assert destinations.get(session, theirs.id, program=other) is theirs
    for nonsense in (0, -1, 2**70, "1", None, True):
        with pytest.raises(errors.UnknownDestination):
            destinations.get(session, nonsense)
    assert destinations.find(session, program=program) == []


def test_the_secret_is_masked_and_rotation_replaces_it(app, session, clock, registry, program):
    destination = add(session, program, clock, registry, app)
    secret = destination.config["secret"]
    assert destinations.masked(destination, registry) == {
        "url": "https://hooks.example/a",
        "secret": f"whsec_…{secret[-4:]}",
    }
    fresh = destinations.rotate(session, destination, clock=clock, registry=registry)
    assert fresh["secret"] != secret and destination.config["secret"] == fresh["secret"]
    assert destination.config["url"] == "https://hooks.example/a"


def test_a_channel_without_secrets_has_nothing_to_rotate(app, session, clock, registry, program):
    destination = add(session, program, clock, registry, app, channel="recorder", config={})
    with pytest.raises(errors.InvalidInput, match="no secret to rotate"):
        destinations.rotate(session, destination, clock=clock, registry=registry)


def test_a_given_secret_is_kept(app, session, clock, registry, program):
    from loyalty.plugins.channels.webhook import new_secret

    mine = new_secret()
    destination = add(session, program, clock, registry, app, config={"url": "https://hooks.example/a", "secret": mine})
    assert destination.config["secret"] == mine


def test_replay_refuses_what_is_on_its_way_and_a_member_who_opted_out(
    app, session, clock, registry, program, loyalty_enrol
):
    member = loyalty_enrol("c-1", email="c-1@example.com")
    add(session, program, clock, registry, app, channel="to_members", config={})
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    [(delivery, _)] = destinations.deliveries(session, program=program, status="delivered")
    member.unsubscribed_at = clock.now()
    with pytest.raises(errors.Conflict, match="opted out"):
        destinations.replay(session, delivery, clock=clock, registry=registry)
    member.unsubscribed_at = None
    destinations.replay(session, delivery, clock=clock, registry=registry)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("pending", 0, None)
    with pytest.raises(errors.Conflict, match="pending already"):
        destinations.replay(session, delivery, clock=clock, registry=registry)


def test_removing_takes_only_its_own_deliveries(app, session, clock, registry, program, loyalty_enrol):
    member = loyalty_enrol("c-1")
    first = add(session, program, clock, registry, app, channel="recorder", config={})
    second = add(session, program, clock, registry, app, channel="recorder", config={}, name="second")
    outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    mine = count(session, Delivery)
    assert destinations.remove(session, first) == mine // 2
    session.commit()
    assert [d.id for d in destinations.find(session)] == [second.id]
    assert count(session, Delivery) == mine // 2 and count(session, OutboxEvent) >= 1


def test_a_test_event_is_made_for_one_destination_and_marked(app, session, clock, registry, program):
    first = add(session, program, clock, registry, app, channel="recorder", config={})
    add(session, program, clock, registry, app, channel="recorder", config={}, name="other")
    delivery = destinations.send_test(session, first, "tier.changed", clock=clock)
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    [message] = channels.RECORDER.messages
    assert message.destination_id == first.id and message.payload["data"]["test"] is True
    assert message.payload["type"] == "tier.changed" and message.event_uid == message.payload["id"]
    assert session.get(Delivery, delivery.id).status == "delivered"
    with pytest.raises(errors.InvalidInput, match="unknown event type"):
        destinations.send_test(session, first, "*", clock=clock)


def test_deliveries_refuse_an_unknown_status(session, program):
    with pytest.raises(errors.InvalidInput, match="status is one of"):
        destinations.deliveries(session, status="lost")


CONFIGS = st.one_of(
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(
        st.sampled_from(["url", "secret", "other"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=50),
            st.sampled_from(["https://hooks.example/x", "whsec_" + "A" * 43 + "=", "http://10.0.0.1/"]),
        ),
        max_size=3,
    ),
)
EVENTS = st.one_of(
    st.text(max_size=40), st.lists(st.sampled_from(["all", "*", "points.earned", "nope", "", " "]), max_size=3)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=CONFIGS, events=EVENTS, name=st.one_of(st.none(), st.text(max_size=250)))
def test_any_input_makes_a_valid_destination_or_is_refused_changing_nothing(
    app, session, clock, registry, program, config, events, name
):
    before = count(session, Destination)
    try:
        destination = add(session, program, clock, registry, app, config=config, events=events, name=name)
    except errors.InvalidInput as refused:
        assert refused.message
        session.rollback()
        assert count(session, Destination) == before
        return
    assert destination.config["url"] and destination.config["secret"].startswith("whsec_")
    assert destination.events and len(destination.name) <= 2000
    session.rollback()
