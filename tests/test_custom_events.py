"""Custom events: every event id counts once, whether or not it earned.

An event that earned nothing used to leave no trace (duplicates were found
by their ledger entries), so the same id earned later, once a matching
rule existed, and the API answered 201 again.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from loyalty import errors
from loyalty.access.api_keys import create_key
from loyalty.earning.events import Customer, CustomEvent
from loyalty.earning.pipeline import process
from loyalty.models import CustomEventRecord, Entry, WebhookDelivery
from tests.helpers import available, run_together, snapshot

REVIEWS = {"event_name": "review_written", "points": 25}


def review(event_id="rev-1", member="c-1", name="review_written", **extra):
    return CustomEvent(event_id, Customer(member), name, **extra)


def test_an_event_that_earned_nothing_does_not_earn_later(push, add_rule, session, program):
    first = push(review())
    assert (first.status, first.points) == ("processed", 0)
    add_rule("custom_event", REVIEWS, name="Reviews")
    again = push(review())
    assert (again.status, again.points) == ("duplicate", 0)
    assert available(session, program, "c-1") == 0
    record = session.scalar(select(CustomEventRecord))
    assert (record.event_id, record.name, record.points) == ("rev-1", "review_written", 0)


def test_an_event_that_earned_records_its_points(push, add_rule, session):
    add_rule("custom_event", REVIEWS, name="Reviews")
    assert push(review()).points == 25
    assert session.scalar(select(CustomEventRecord.points)) == 25
    assert push(review()).status == "duplicate"


@pytest.mark.parametrize("repeat", [review(member="c-2"), review(name="photo_uploaded")])
def test_an_event_id_reused_for_another_member_or_name_is_refused(repeat, push, session, program, registry, clock):
    push(review())
    before = snapshot(session)
    with pytest.raises(errors.EventIdConflict, match="already recorded as 'review_written' for member 'c-1'"):
        process(session, program, repeat, registry=registry, clock=clock)
    session.rollback()
    assert snapshot(session) == before


def test_an_event_id_longer_than_200_characters_is_refused_not_cut(push):
    with pytest.raises(errors.InvalidInput, match="at most 200"):
        push(review(event_id="e" * 201))


def test_the_same_event_id_at_once_is_recorded_once(app, session, program, member, add_rule, is_postgres, clock):
    """Two event ids, each delivered 4 times at once: each recorded once, and a rule added later pays none.

    Before, nothing was recorded for an event that earned nothing: all 8 were "processed", and all earned later.
    """
    if not is_postgres:
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
    from loyalty.db import db
    from loyalty.models import Program
    from loyalty.registry import current_registry

    program_id = program.id

    def deliver(n):
        # Half for a member already enrolled (they queue on the member's lock), half for a new customer
        # (they meet at the record's unique key).
        for _attempt in (1, 2):
            try:
                outcome = process(
                    db.session,
                    db.session.get(Program, program_id),
                    review(event_id=f"rev-{n % 2}", member="c-1" if n % 2 else "c-race"),
                    registry=current_registry(),
                    clock=clock,
                )
                db.session.commit()
                return outcome.status, outcome.points
            except IntegrityError:  # enrolling one new customer at once: once more, as the intake does
                db.session.rollback()

    assert sorted(run_together(app, 8, deliver)) == [("duplicate", 0)] * 6 + [("processed", 0)] * 2
    add_rule("custom_event", REVIEWS, name="Reviews")
    assert sorted(run_together(app, 8, deliver)) == [("duplicate", 0)] * 8
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CustomEventRecord)) == 2
    assert session.scalar(select(func.count()).select_from(Entry).where(Entry.source_type == "rule")) == 0


class TestApi:
    @pytest.fixture
    def auth(self, session, program, clock):
        new = create_key(session, program, name="test", clock=clock)
        session.commit()
        return {"Authorization": f"Bearer {new.secret}"}

    def test_a_repeat_after_a_rule_was_added_is_200_and_earns_nothing(self, app, auth, add_rule):
        client = app.test_client()
        body = {"event_id": "rev-9", "name": "review_written", "member": {"external_id": "c-9"}}
        first = client.post("/api/v1/events", json=body, headers=auth)
        assert first.status_code == 201 and first.json["points"] == 0
        add_rule("custom_event", REVIEWS, name="Reviews")
        again = client.post("/api/v1/events", json=body, headers=auth)
        assert again.status_code == 200 and again.json == {"status": "duplicate", "points": 0, "entry_ids": []}

    def test_a_reused_event_id_is_409(self, app, auth):
        client = app.test_client()
        body = {"event_id": "rev-9", "name": "review_written", "member": {"external_id": "c-9"}}
        assert client.post("/api/v1/events", json=body, headers=auth).status_code == 201
        clash = client.post("/api/v1/events", json={**body, "member": {"external_id": "c-10"}}, headers=auth)
        assert clash.status_code == 409 and clash.json["code"] == "event_id_conflict"


def test_the_cli_reports_a_repeat_as_duplicate(runner, program, add_rule, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"type": "custom_event", "event_id": "rev-1", "name": "review_written", "customer": {"external_id": "c-1"}}
        )
    )
    assert (
        "custom_event: processed (member c-1)"
        in runner.invoke(args=["events", "push", "--program", "acme", "--file", str(event)]).output
    )
    add_rule("custom_event", REVIEWS, name="Reviews")
    again = runner.invoke(args=["events", "push", "--program", "acme", "--file", str(event)])
    assert again.exit_code == 0
    assert "custom_event: duplicate (member c-1): event rev-1 was already recorded" in again.output


def test_a_webhook_repeat_under_another_delivery_id_earns_nothing(app, session, program, registry, clock, add_rule):
    from loyalty.storefronts.connections import add_storefront
    from tests.helpers.webhooks import SECRETS, standard_headers

    add_storefront(
        session, program, registry, type="standard_webhooks", secret=SECRETS["standard_webhooks"], clock=clock
    )
    add_rule("custom_event", REVIEWS, name="Reviews")
    client = app.test_client()
    now = int(clock.now().timestamp())

    def send(msg_id, member="c-1"):
        body = json.dumps(
            {"type": "custom_event", "event_id": "rev-1", "name": "review_written", "customer": {"external_id": member}}
        ).encode()
        return client.post(
            "/webhooks/acme/standard_webhooks",
            data=body,
            headers={**standard_headers(body, now, msg_id=msg_id), "Content-Type": "application/json"},
        )

    assert send("msg_1").json["status"] == "processed"
    assert send("msg_2").status_code == 200
    assert available(session, program, "c-1") == 25
    refused = send("msg_3", member="c-2")
    assert refused.status_code == 200 and refused.json["status"] == "failed"
    assert "event_id_conflict" in refused.json["error"]
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 3
