"""The outbox's machinery with a recording channel: record, fan out, claim, send, retry, dead-letter, digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from loyalty.messages import outbox, sending
from loyalty.messages.channels import Outcome
from loyalty.messages.dispatch import dispatch
from loyalty.models import Delivery, Destination, OutboxEvent
from tests.helpers import channels

pytestmark = pytest.mark.plugins(channels.Plugin())


@pytest.fixture(autouse=True)
def _fresh_recorders():
    channels.reset()
    yield
    channels.reset()


@pytest.fixture
def destination(session, program, clock):
    def make(channel="recorder", events=("*",), **config):
        row = Destination(
            program_id=program.id,
            channel=channel,
            name=channel,
            events=list(events),
            config=config,
            status="active",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(row)
        session.commit()
        return row

    return make


@pytest.fixture
def member(loyalty_enrol):
    return loyalty_enrol("c-1", email="c-1@example.com", name="Ann")


def send(app, session, registry, clock):
    counts = sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    session.commit()
    return counts


def record(session, program, member, type="points.earned", **data):
    outbox.record(session, program.id, type, at=member.enrolled_at, member_id=member.id, data=data)


def test_an_event_exists_only_if_its_transaction_committed(session, program, member):
    before = session.scalar(select(func.count()).select_from(OutboxEvent))
    record(session, program, member, points=10)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == before
    record(session, program, member, points=10)
    session.commit()
    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == before + 1


def test_each_event_reaches_each_destination_once_with_its_payload(
    app, session, registry, clock, program, member, destination
):
    first, second = destination(), destination(events=("tier.changed",))
    record(session, program, member, points=10)
    session.commit()
    counts = send(app, session, registry, clock)
    assert counts["delivered"] >= 1
    mine = [m for m in channels.RECORDER.messages if m.event_type == "points.earned"]
    assert [m.destination_id for m in mine] == [first.id]
    payload = mine[0].payload
    assert payload["type"] == "points.earned" and payload["program"] == "acme"
    assert payload["data"]["member"] == {"external_id": "c-1", "email": "c-1@example.com", "name": "Ann"}
    assert payload["data"]["points"] == 10 and payload["id"].startswith("evt_")
    assert not session.scalar(
        select(Delivery).where(Delivery.destination_id == second.id, Delivery.event_type == "points.earned")
    )
    channels.RECORDER.messages.clear()
    assert send(app, session, registry, clock)["delivered"] == 0  # nothing twice
    assert channels.RECORDER.messages == []


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    app, session, registry, clock, program, member, destination
):
    destination(events=("points.earned",))
    channels.RECORDER.script = [Outcome.retry("HTTP 500", 500)] * sending.MAX_ATTEMPTS
    record(session, program, member, points=5)
    session.commit()
    send(app, session, registry, clock)
    delivery = session.scalar(select(Delivery).where(Delivery.event_type == "points.earned"))
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    for wait in sending.BACKOFF:
        assert send(app, session, registry, clock)["pending"] == 0  # not due yet
        clock.advance(wait)
        send(app, session, registry, clock)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("failed", sending.MAX_ATTEMPTS)
    uids = {m.event_uid for m in channels.RECORDER.messages}
    assert len(uids) == 1 and len(channels.RECORDER.messages) == sending.MAX_ATTEMPTS  # the same id every time


def test_a_channel_that_raises_is_retried_not_fatal(app, session, registry, clock, program, member, destination):
    destination(events=("points.earned",))
    channels.RECORDER.script = [RuntimeError("boom")]
    record(session, program, member, points=5)
    session.commit()
    send(app, session, registry, clock)
    delivery = session.scalar(select(Delivery).where(Delivery.event_type == "points.earned"))
    assert delivery.status == "pending" and "RuntimeError: boom" in delivery.last_error
    clock.advance(sending.BACKOFF[0])
    send(app, session, registry, clock)
    session.refresh(delivery)
    assert delivery.status == "delivered"


def test_a_destination_failing_for_days_is_disabled_with_the_reason(
    app, session, registry, clock, program, member, destination
):
    dest = destination(events=("points.earned",))
    channels.RECORDER.script = [Outcome.retry("timed out")] * 100
    for _ in range(7):
        record(session, program, member, points=1)
        session.commit()
        send(app, session, registry, clock)
        clock.advance(timedelta(days=1))
    session.refresh(dest)
    assert dest.status == "disabled" and "every delivery failed since" in dest.disabled_reason


def test_a_sender_that_died_mid_send_leaves_the_delivery_due_after_its_lease(
    app, session, registry, clock, program, member, destination
):
    destination(events=("points.earned",))
    record(session, program, member, points=5)
    session.commit()
    dispatch(session, registry=registry, settings=app.config, now=clock.now())
    session.commit()
    claimed = sending.claim(session, registry=registry, settings=app.config, now=clock.now(), limit=10)
    assert len(claimed) == 1  # ...and the sender dies here, never settling
    assert send(app, session, registry, clock)["delivered"] == 0  # leased: nobody else takes it
    clock.advance(sending.LEASE + timedelta(seconds=1))
    assert send(app, session, registry, clock)["delivered"] == 1
    assert (
        sending.settle(session, claimed[0], Outcome.delivered(200), clock.now()) is None
    )  # the dead one's word is not taken


def test_member_messages_are_skipped_for_a_member_who_opted_out(
    app, session, registry, clock, program, member, destination
):
    destination("to_members")
    member.unsubscribed_at = clock.now()
    record(session, program, member, points=5)
    session.commit()
    send(app, session, registry, clock)
    delivery = session.scalar(select(Delivery).where(Delivery.event_type == "points.earned"))
    assert delivery.status == "skipped" and "opted out" in delivery.last_error
    assert [m for m in channels.TO_MEMBERS.messages if m.event_type == "points.earned"] == []


def test_a_digest_sends_at_most_one_per_window_summing_what_came_between(
    app, session, registry, clock, program, member, destination
):
    destination("to_members")
    record(session, program, member, points=5)
    session.commit()
    send(app, session, registry, clock)
    assert [m.content["subject"] for m in channels.TO_MEMBERS.messages if m.event_type == "points.earned"] == [
        "You earned 5 points"
    ]
    for points in (7, 8):
        clock.advance(timedelta(minutes=10))
        record(session, program, member, points=points)
        session.commit()
        send(app, session, registry, clock)
    assert len([m for m in channels.TO_MEMBERS.messages if m.event_type == "points.earned"]) == 1
    clock.advance(timedelta(minutes=41))
    send(app, session, registry, clock)
    earned = [m for m in channels.TO_MEMBERS.messages if m.event_type == "points.earned"]
    assert [m.content["subject"] for m in earned] == ["You earned 5 points", "You earned 15 points"]
    assert len(earned[1].payloads) == 2


def test_a_template_that_no_longer_renders_fails_its_delivery_not_the_sender(
    app, session, registry, clock, program, member, destination
):
    from loyalty.models import MessageTemplate

    destination("to_members")
    session.add(
        MessageTemplate(
            program_id=program.id,
            channel="to_members",
            kind="points.earned",
            subject="{{ nothing_by_this_name }}",
            updated_at=clock.now(),
        )
    )
    record(session, program, member, points=5)
    session.commit()
    counts = send(app, session, registry, clock)
    delivery = session.scalar(select(Delivery).where(Delivery.event_type == "points.earned"))
    assert delivery.status == "failed" and "could not be written from its template" in delivery.last_error
    assert counts["failed"] == 1
    assert [m for m in channels.TO_MEMBERS.messages if m.event_type == "points.earned"] == []


def test_pruning_deletes_what_is_finished_and_old_and_keeps_what_waits(
    app, session, registry, clock, program, member, destination
):
    from loyalty.messages.retention import prune

    destination(events=("points.earned",))
    waiting = destination(events=("points.earned",))
    record(session, program, member, points=5)
    session.commit()
    send(app, session, registry, clock)
    waiting.status = "disabled"  # its delivery, claimed before, is put back to wait
    session.execute(Delivery.__table__.update().where(Delivery.destination_id == waiting.id).values(status="pending"))
    session.commit()
    assert prune(session, now=clock.now(), days=30) == {"deliveries": 0, "events": 0}  # nothing old yet
    clock.advance(timedelta(days=31))
    assert prune(session, now=clock.now(), days=30)["deliveries"] == 1  # the delivered one; the event still waits
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "points.earned")) == 1
    waiting.status = "active"
    session.commit()
    send(app, session, registry, clock)
    clock.advance(timedelta(days=31))
    assert prune(session, now=clock.now(), days=30)["events"] >= 1
    assert not session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "points.earned"))


def test_removing_a_destination_while_a_sender_fans_out_to_it_waits_for_that_fan_out(
    app, session, registry, clock, program, member, destination, is_postgres
):
    import threading

    from sqlalchemy.orm import Session

    from loyalty.db import db
    from loyalty.messages import destinations

    if not is_postgres:
        pytest.skip("SQLite has one writer: a removal and a fan-out never overlap")
    dest_id = destination(events=("points.earned",)).id
    record(session, program, member, points=5)
    session.commit()
    engine = db.engine
    sender = Session(engine)
    dispatch(sender, registry=registry, settings=app.config, now=clock.now())  # fanned out, not committed yet
    done, failures = threading.Event(), []

    def remove():
        with app.app_context(), Session(engine) as other:
            try:
                destinations.remove(other, other.get(Destination, dest_id))
                other.commit()
            except Exception as exc:  # the foreign-key error this test is about
                failures.append(exc)
            finally:
                done.set()

    remover = threading.Thread(target=remove)
    remover.start()
    try:
        waited = not done.wait(1.0)
        sender.commit()
    finally:
        sender.close()
        remover.join(30)
    assert waited, failures  # it waited for the fan-out...
    assert done.is_set() and failures == []  # ...then deletes the deliveries the fan-out made, and the destination
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.destination_id == dest_id)) == 0
    assert session.get(Destination, dest_id) is None
