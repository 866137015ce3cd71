"""Every lifecycle event is recorded in the outbox once per change, in the change's transaction, on every path.

Once: a replay (the same idempotency key, the same order or delivery
again, a job run twice) records nothing. In the transaction: a change
that rolls back leaves no event. Every path: the webhook intake inline and
the worker's set-based batch, the API, the ledger's sweeps and jobs.
A story (:func:`story`) makes one program go through every event type by
the real code paths; ``docs/events.md`` is checked against its payloads.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import jsonschema_rs
import pytest
from sqlalchemy import func, select

from loyalty import jobs
from loyalty.api import event_payloads
from loyalty.earning.events import Customer, CustomerCreated, OrderRefunded
from loyalty.ledger import Ledger
from loyalty.messages import payloads
from loyalty.messages.catalog import EVENT_TYPES
from loyalty.models import Entry, Member, OutboxEvent
from loyalty.programs.members import enrol
from loyalty.rewards.redeem import cancel, redeem
from loyalty.testing.earning import order_paid
from loyalty.tiers.levels import set_member_tier
from loyalty.webhooks import inbox
from tests.helpers import statements_issued
from tests.helpers.webhooks import shopify_delivery, shopify_headers

DOC = Path(__file__).resolve().parent.parent / "docs" / "events.md"


def events(session, type: str | None = None, program=None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id)
    if type is not None:
        query = query.where(OutboxEvent.type == type)
    if program is not None:
        query = query.where(OutboxEvent.program_id == program.id)
    return list(session.scalars(query))


def count(session, type: str | None = None) -> int:
    query = select(func.count()).select_from(OutboxEvent)
    return session.scalar(query.where(OutboxEvent.type == type) if type else query)


def run(session, registry, clock, name: str):
    done = jobs.run_job(session, name, clock=clock, registry=registry)
    assert done.status == "succeeded", done.error
    session.expire_all()
    return done


def ann_customer():
    return Customer("c-1", email="ann@example.com", name="Ann")


@pytest.fixture
def base_rate(add_rule):
    return add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")


# --- member.enrolled ---------------------------------------------------------------------------------


def test_an_enrolment_is_told_once_and_not_when_the_customer_comes_again(session, push, clock):
    push(CustomerCreated(ann_customer()))
    push(CustomerCreated(ann_customer()))
    (event,) = events(session, "member.enrolled")
    member = session.scalar(select(Member).where(Member.external_id == "c-1"))
    assert event.member_id == member.id and event.created_at == clock.now()
    assert event.data == {"enrolled_at": "2026-01-01T12:00:00Z", "referral_code": member.referral_code}


def test_an_enrolment_that_rolls_back_leaves_no_event(session, program, registry, clock):
    from loyalty.earning.pipeline import enrol

    enrol(session, program, ann_customer(), registry=registry, clock=clock)
    session.rollback()
    assert count(session) == 0


def test_the_api_enrols_with_the_event(loyalty_api, session):
    answer = loyalty_api.post("/api/v1/members", json={"external_id": "api-1", "email": "a@example.com"})
    assert answer.status_code == 201, answer.json
    assert [e.type for e in events(session)] == ["member.enrolled"]


def test_an_api_adjustment_is_told_once_however_often_it_is_sent(loyalty_api, session, member):
    for _ in range(2):
        answer = loyalty_api.post(
            f"/api/v1/members/{member.external_id}/adjustments",
            json={"points": 75, "reason": "Sorry for the delay"},
            headers={"Idempotency-Key": "adj-1"},
        )
        assert answer.status_code in (200, 201), answer.json
    (event,) = events(session, "points.adjusted")
    assert event.data["points"] == 75 and event.data["reason"] == "Sorry for the delay"
    assert event.data["actor"].startswith("api") and event.data["balance"] == 75


# --- points.earned -----------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [0, 14])
def test_an_orders_points_are_told_once_with_the_order_and_the_rule(session, program, push, base_rate, window):
    program.return_window_days = window
    session.commit()
    order = order_paid("120.00", customer=ann_customer(), order_id="1001")
    outcome = push(order)
    push(order)  # the store sends it again
    (event,) = events(session, "points.earned")
    ((_, receipt),) = outcome.awards
    assert event.member_id == outcome.member.id
    released = (order.occurred_at or session.get(OutboxEvent, event.id).created_at) + timedelta(days=window)
    assert event.data == {
        "entry_id": receipt.entry_id,
        "points": 120,
        "status": "pending" if window else "available",
        "reason": event.data["reason"],
        "source": {"type": "order", "id": "1001"},
        "cause": {"type": "order", "order_id": "1001", "rule": "Base rate"},
        "release_at": released.isoformat().replace("+00:00", "Z") if window else None,
        "expires_at": None,
    }
    assert event.data["reason"]  # the rule's words, as on the member's history


def test_an_order_that_rolls_back_tells_nothing(session, program, registry, clock, base_rate):
    from loyalty.earning.pipeline import process

    process(session, program, order_paid("50.00", customer=ann_customer()), registry=registry, clock=clock)
    assert count(session, "points.earned") == 1  # in the transaction…
    session.rollback()
    assert count(session) == 0  # …and gone with it


def test_a_replayed_key_tells_nothing(session, member, ledger):
    first = ledger.earn(member, 30, key="bonus-1", reason="Bonus")
    again = ledger.earn(member, 30, key="bonus-1", reason="Bonus")
    session.commit()
    assert again.replayed and [e.data["entry_id"] for e in events(session, "points.earned")] == [first.entry_id]


def test_telling_an_earning_costs_no_read_and_on_postgresql_no_statement(session, member, ledger, is_postgres):
    """The hot path: PostgreSQL's earning writes its event in its one statement; SQLite adds one INSERT."""
    ledger.earn(member, 1, key="warm-up")  # the system accounts are read once per ledger
    with statements_issued(session) as issued:
        ledger.earn(member, 5, key="timed")
    outbox_inserts = [sql for sql in issued if "outbox_events" in sql]
    assert len(outbox_inserts) == 1
    assert not any(sql.lstrip().upper().startswith("SELECT") for sql in issued)
    if is_postgres:
        assert len(issued) == 2 and outbox_inserts[0].lstrip().startswith("WITH e AS")  # credit, then the CTE
    else:
        assert outbox_inserts[0].lstrip().upper().startswith("INSERT INTO OUTBOX_EVENTS")


def test_the_inline_intake_and_the_workers_batch_tell_the_same(
    app, session, program, registry, clock, base_rate, loyalty_connect_store
):
    """Two orders of enrolled members: processed in the request, and queued then taken set-based by a worker."""
    loyalty_connect_store("shopify")
    client = app.test_client()
    for n in range(2):
        enrol(session, program, external_id=str(500 + n), clock=clock)
    session.commit()

    def deliver(order: int, customer: int, webhook_id: str):
        topic, body = shopify_delivery(("paid", order, customer, 40 + order, "USD"), order)
        answer = client.post(
            "/webhooks/acme/shopify", data=body, headers=shopify_headers(body, topic, webhook_id=webhook_id)
        )
        assert answer.status_code in (200, 202), answer.json

    app.config["WEBHOOK_PROCESSING"] = "inline"
    deliver(1, 0, "inline-1")
    deliver(1, 0, "inline-1")  # the same delivery again
    app.config["WEBHOOK_PROCESSING"] = "queued"
    deliver(2, 1, "queued-2")
    deliver(3, 0, "queued-3")
    assert count(session, "points.earned") == 1  # queued: nothing posted yet, nothing told
    done = inbox.process_batch(session, registry=registry, clock=clock, limit=50)
    assert [d.status for d in done] == ["processed", "processed"]
    session.expire_all()
    told = {e.data["cause"]["order_id"]: e.data for e in events(session, "points.earned")}
    assert sorted(told) == ["1001", "1002", "1003"]
    for order in ("1001", "1002", "1003"):
        assert told[order]["points"] == 40 + int(order) - 1000
        assert told[order]["source"] == {"type": "order", "id": order}
        assert told[order]["cause"] == {"type": "order", "order_id": order, "rule": "Base rate"}
    # The batch path posted set-based and told each entry: its entry ids are the ones in the ledger.
    entries = set(session.scalars(select(Entry.id).where(Entry.kind == "earn")))
    assert {data["entry_id"] for data in told.values()} == entries


# --- points.released, points.expired, points.expiring: the jobs -----------------------------------------


def test_released_points_are_told_once_with_the_order_they_came_from(
    session, program, push, registry, clock, base_rate
):
    program.return_window_days = 14
    session.commit()
    push(order_paid("80.00", customer=ann_customer(), order_id="2001"))
    earned = events(session, "points.earned")[0]
    clock.advance(timedelta(days=15))
    run(session, registry, clock, "release")
    run(session, registry, clock, "release")
    (event,) = events(session, "points.released")
    assert event.data == {
        "points": 80,
        "entry_id": event.data["entry_id"],
        "reason": earned.data["reason"],
        "source": {"type": "order", "id": "2001"},
        "lot_id": event.data["lot_id"],
        "expires_at": None,
        "balance": 80,
    }
    assert event.data["entry_id"] != earned.data["entry_id"]


def test_a_sweep_tells_each_lot_with_the_balance_it_left(session, program, member, ledger, registry, clock):
    for n, days in enumerate((5, 6)):
        ledger.adjust(
            member,
            10 * (n + 1),
            key=f"grant-{n}",
            reason="Goodwill",
            actor="test",
            expires_at=clock.now() + timedelta(days=days),
        )
    ledger.earn(member, 7, key="keeps")
    session.commit()
    clock.advance(timedelta(days=7))
    run(session, registry, clock, "expire")
    run(session, registry, clock, "expire")
    expired = events(session, "points.expired")
    assert [(e.data["points"], e.data["balance"]) for e in expired] == [(10, 27), (20, 7)]
    assert all(e.data["source"] is None and e.data["reason"] == "Goodwill" for e in expired)


def test_expiring_points_are_told_once_per_member_and_date(
    session, program, member, member_factory, ledger, registry, clock
):
    other = member_factory("c-2")
    soon, later = clock.now() + timedelta(days=10), clock.now() + timedelta(days=30)
    ledger.adjust(member, 10, key="a", reason="r", actor="t", expires_at=soon)
    ledger.adjust(member, 5, key="b", reason="r", actor="t", expires_at=soon + timedelta(hours=1))
    ledger.adjust(member, 99, key="c", reason="r", actor="t", expires_at=later)  # outside the 14 days
    ledger.adjust(other, 3, key="d", reason="r", actor="t", expires_at=soon)
    session.commit()
    run(session, registry, clock, "expiring")
    run(session, registry, clock, "expiring")  # twice: once
    clock.advance(timedelta(days=1))
    run(session, registry, clock, "expiring")  # the next day sees the same date: once
    told = {(e.member_id, e.data["date"]): e.data for e in events(session, "points.expiring")}
    day = soon.date().isoformat()
    assert told == {
        (member.id, day): {"points": 15, "date": day, "expires_at": soon.isoformat().replace("+00:00", "Z")},
        (other.id, day): {"points": 3, "date": day, "expires_at": soon.isoformat().replace("+00:00", "Z")},
    }
    assert {e.dedupe_key for e in events(session, "points.expiring")} == {
        f"expiring:{member.id}:{day}",
        f"expiring:{other.id}:{day}",
    }


def test_a_program_without_a_notice_period_tells_nothing_of_expiring_points(
    session, program, member, ledger, registry, clock
):
    program.expiring_notice_days = None
    ledger.adjust(member, 10, key="a", reason="r", actor="t", expires_at=clock.now() + timedelta(days=2))
    session.commit()
    run(session, registry, clock, "expiring")
    assert count(session, "points.expiring") == 0


# --- redeemed, adjusted, reversed ------------------------------------------------------------------------


def test_a_reward_tells_its_points_and_itself_and_a_repeat_tells_nothing(
    session, program, member, registry, clock, loyalty_add_reward, loyalty_award
):
    reward = loyalty_add_reward("fixed_amount_code", points=50, config={"amount": "5.00"}, name="Five off")
    loyalty_award(member, 80)
    made = redeem(session, program, member, reward.id, key="r-1", registry=registry, clock=clock)
    redeem(session, program, member, reward.id, key="r-1", registry=registry, clock=clock)
    session.commit()
    (spent,) = events(session, "points.redeemed")
    assert spent.data == {
        "points": 50,
        "entry_id": made.entry_id,
        "reason": "Reward: Five off",
        "source": {"type": "reward", "id": str(reward.id)},
        "cause": {"type": "reward", "reward_id": reward.id, "reward": "Five off", "redemption_id": made.id},
        "balance": 30,
    }
    (issued,) = events(session, "reward.redeemed")
    assert made.details["amount"] == "5.00"
    assert issued.data == {
        "redemption_id": made.id,
        "reward": {"id": reward.id, "name": "Five off", "type": "fixed_amount_code"},
        "points": 50,
        "code": made.code,
        "value": None,  # a variable reward's worth; this one's is in its details
        "currency": "USD",
        "details": made.details,
        "expires_at": None,
        "entry_id": made.entry_id,
    }
    cancel(session, program, member, made.id, actor="cli:pm", registry=registry, clock=clock)
    session.commit()
    (cancelled,) = events(session, "reward.cancelled")
    assert cancelled.data == issued.data
    (back,) = events(session, "points.reversed")
    assert back.data["reversed_entry_id"] == made.entry_id and back.data["balance"] == 80


def test_a_reward_that_could_not_be_issued_tells_nothing(
    session, program, member, registry, clock, loyalty_add_reward, loyalty_award
):
    reward = loyalty_add_reward("fixed_amount_code", points=50, config={"amount": "5.00", "use_pool": True})
    loyalty_award(member, 80)
    before = count(session)
    failed = redeem(session, program, member, reward.id, key="r-1", registry=registry, clock=clock)
    session.commit()
    assert failed.status == "failed" and count(session) == before


def test_an_adjustment_is_told_signed_with_who_and_why(session, member, ledger):
    ledger.adjust(member, 40, key="adj-1", reason="Goodwill", actor="admin:ann")
    taken = ledger.adjust(member, -15, key="adj-2", reason="Correction", actor="admin:ann")
    ledger.adjust(member, -15, key="adj-2", reason="Correction", actor="admin:ann")
    session.commit()
    assert [e.data for e in events(session, "points.adjusted")][1] == {
        "points": -15,
        "entry_id": taken.entry_id,
        "reason": "Correction",
        "source": None,
        "actor": "admin:ann",
        "expires_at": None,
        "balance": 25,
    }
    assert count(session, "points.adjusted") == 2


def test_a_refund_tells_the_reversal_with_its_order_and_shortfall(session, program, push, clock, base_rate):
    program.clawback_policy = "cap_at_zero"
    session.commit()
    outcome = push(order_paid("100.00", customer=ann_customer(), order_id="3001"))
    Ledger(session, clock).adjust(outcome.member, -90, key="spend", reason="spent", actor="test")
    session.commit()
    refund = OrderRefunded(order_id="3001", refund_id="rf-1", amount=Decimal("50.00"), currency="USD")
    push(refund)
    push(refund)
    (event,) = events(session, "points.reversed")
    ((_, earned),) = outcome.awards
    assert event.data == {
        "points": 50,
        "entry_id": event.data["entry_id"],
        "reason": "Refund rf-1 of order 3001",
        "source": {"type": "order", "id": "3001"},
        "reversed_entry_id": earned.entry_id,
        "reversed_kind": "earn",
        "shortfall": 40,
        "balance": 0,
    }


# --- tiers ---------------------------------------------------------------------------------------------


def test_a_tier_change_tells_from_to_direction_and_reason(session, program, member, registry, clock, loyalty_add_tier):
    silver, gold = loyalty_add_tier("Silver"), loyalty_add_tier("Gold")
    set_member_tier(session, member, silver, registry=registry, clock=clock)
    set_member_tier(session, member, gold, registry=registry, clock=clock)
    set_member_tier(session, member, gold, registry=registry, clock=clock)  # no change: nothing
    set_member_tier(session, member, None, registry=registry, clock=clock)
    session.commit()
    assert [e.data for e in events(session, "tier.changed")] == [
        {
            "from": None,
            "to": {"id": silver.id, "name": "Silver"},
            "direction": "up",
            "reason": "manual",
            "qualifying_value": None,
        },
        {
            "from": {"id": silver.id, "name": "Silver"},
            "to": {"id": gold.id, "name": "Gold"},
            "direction": "up",
            "reason": "manual",
            "qualifying_value": None,
        },
        {
            "from": {"id": gold.id, "name": "Gold"},
            "to": None,
            "direction": "down",
            "reason": "manual",
            "qualifying_value": None,
        },
    ]


def test_a_recalculation_tells_upgrades_with_the_qualifying_value(
    session, program, member, registry, clock, loyalty_add_tier, loyalty_set_scheme, loyalty_recalculate, loyalty_award
):
    loyalty_add_tier("Silver", threshold="100")
    loyalty_set_scheme("lifetime_points")
    loyalty_award(member, 150)
    loyalty_recalculate()
    loyalty_recalculate()
    (event,) = events(session, "tier.changed")
    assert (event.data["direction"], event.data["reason"], event.data["qualifying_value"]) == ("up", "upgrade", "150")


# --- referrals -------------------------------------------------------------------------------------------


def test_a_referral_that_pays_off_is_told_to_the_referrer_once(
    session, program, push, member, loyalty_referral_terms, loyalty_refer, registry, clock
):
    loyalty_referral_terms(referrer_points=500, friend_points=100, review_days=0)
    referral = loyalty_refer(member, "f-1")
    push(order_paid("60.00", customer="f-1", order_id="4001"))
    push(order_paid("60.00", customer="f-1", order_id="4001"))
    (event,) = events(session, "referral.completed")
    assert event.member_id == member.id
    assert event.data == {
        "referral_id": referral.id,
        "referrer": {"external_id": member.external_id},
        "friend": {"external_id": "f-1"},
        "order_id": "4001",
        "referrer_points": 500,
        "friend_points": 100,
        "reason": None,
    }
    causes = [e.data["cause"] for e in events(session, "points.earned")]
    assert {"type": "referral", "referral_id": referral.id, "side": "referrer"} in causes


def test_a_flagged_referral_is_told_once(session, member, loyalty_referral_terms, loyalty_refer, push):
    loyalty_referral_terms(referrer_points=500, friend_points=100, checks={"self_referral": {"action": "flag"}})
    referral = loyalty_refer(member, "f-2", friend_email=member.email)
    push(order_paid("60.00", customer="f-2"))  # decided already: nothing more
    assert referral.status == "flagged"
    (event,) = events(session, "referral.flagged")
    assert event.member_id == member.id
    assert event.data["referrer_points"] == 500 and event.data["friend_points"] == 100
    assert "self_referral" in event.data["reason"] and event.data["order_id"] is None


# --- the catalog: docs/events.md matches real payloads ------------------------------------------------------


@pytest.fixture
def story(
    session,
    program,
    registry,
    clock,
    push,
    base_rate,
    loyalty_add_tier,
    loyalty_add_reward,
    loyalty_referral_terms,
    loyalty_refer,
):
    """One program through every event type, by the real code paths: type → the last payload of that type."""
    program.return_window_days = 14
    session.commit()
    push(CustomerCreated(ann_customer()))
    member = session.scalar(select(Member).where(Member.external_id == "c-1"))
    loyalty_referral_terms(referrer_points=500, friend_points=100, review_days=0)
    loyalty_refer(member, "c-2")
    push(order_paid("60.00", customer="c-2", order_id="1002"))
    push(order_paid("120.00", customer=ann_customer(), order_id="1001"))  # the last points.earned: an order's
    clock.advance(timedelta(days=15))
    run(session, registry, clock, "release")
    silver, gold = loyalty_add_tier("Silver"), loyalty_add_tier("Gold")
    set_member_tier(session, member, silver, registry=registry, clock=clock)
    set_member_tier(session, member, gold, registry=registry, clock=clock)
    reward = loyalty_add_reward("fixed_amount_code", points=50, config={"amount": "5.00"}, name="$5 off")
    made = redeem(session, program, member, reward.id, key="story-1", registry=registry, clock=clock)
    cancel(session, program, member, made.id, actor="cli:pm", registry=registry, clock=clock)
    redeem(session, program, member, reward.id, key="story-2", registry=registry, clock=clock)
    ledger = Ledger(session, clock)
    ledger.adjust(
        member,
        25,
        key="story-adj",
        reason="Goodwill",
        actor="admin:pm@example.com",
        expires_at=clock.now() + timedelta(days=10),
    )
    session.commit()
    push(OrderRefunded(order_id="1001", refund_id="rf-1", amount=Decimal("20.00"), currency="USD"))
    run(session, registry, clock, "expiring")
    clock.advance(timedelta(days=11))
    run(session, registry, clock, "expire")
    loyalty_referral_terms(checks={"self_referral": {"action": "flag"}})
    loyalty_refer(member, "c-3", friend_email=member.email)
    session.commit()
    last = {}
    for event in events(session):
        who = session.get(Member, event.member_id) if event.member_id else None
        last[event.type] = payloads.build(event, program, who)
    return last


def documented() -> dict[str, dict]:
    """docs/events.md's examples: the JSON block under each ``### `type` `` heading."""
    text = DOC.read_text()
    found = {}
    for match in re.finditer(r"^### `([a-z.]+)`\n(.*?)```json\n(.*?)```", text, re.S | re.M):
        found[match.group(1)] = json.loads(match.group(3))
    return found


def shape(value):
    """The keys of a payload, recursively: a dict's keys and their shapes; anything else (null too) is a value."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return "value"


def test_every_type_is_documented_and_nothing_else():
    assert list(documented()) == list(EVENT_TYPES)


@pytest.mark.parametrize("type", list(EVENT_TYPES))
def test_the_documented_example_has_exactly_the_real_payloads_keys(story, type):
    real, example = story[type], documented()[type]
    assert shape(example) == shape(real), f"docs/events.md's {type} example is not what the platform sends"
    assert example["type"] == type and re.fullmatch(r"evt_[0-9a-f]{26}", real["id"])


# --- the OpenAPI document: the same payloads, as its webhooks ---------------------------------------------


@pytest.mark.parametrize("type", list(EVENT_TYPES))
def test_each_real_payload_validates_against_its_schema_in_the_document(story, type):
    validator = jsonschema_rs.Draft202012Validator(event_payloads.payload_schema(type), validate_formats=True)
    errors = [error.message for error in validator.iter_errors(story[type])]
    assert not errors, f"the {type} payload does not fit its schema: {errors}"


@pytest.mark.parametrize("type", list(EVENT_TYPES))
def test_each_schema_has_the_documented_fields(type):
    schema = event_payloads.payload_schema(type)
    assert list(schema["properties"]) == list(documented()[type])
    assert set(schema["properties"]["data"]["properties"]) == set(documented()[type]["data"])
    assert schema["properties"]["data"]["required"] == list(schema["properties"]["data"]["properties"])


def test_the_store_api_document_describes_every_event_as_a_webhook(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    assert list(spec["webhooks"]) == list(EVENT_TYPES)
    for type, item in spec["webhooks"].items():
        reference = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = reference.removeprefix("#/components/schemas/")
        assert spec["components"]["schemas"][name] == event_payloads.payload_schema(type)
