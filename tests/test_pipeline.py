"""The earning pipeline: orders, refunds, cancellations, duplicates and events out of order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from loyalty import errors
from loyalty.earning.events import Customer, CustomerCreated, OrderCancelled, OrderRefunded
from loyalty.earning.pipeline import process
from loyalty.earning.simulate import simulate
from loyalty.models import Entry, Order
from loyalty.plugin_api import hookimpl
from loyalty.registry import build_registry
from loyalty.testing import order_paid
from tests.helpers import available, pending, snapshot


@pytest.fixture
def base_rate(add_rule):
    return add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")


def refund(order_id, refund_id, amount, currency="USD"):
    return OrderRefunded(order_id=order_id, refund_id=refund_id, amount=Decimal(amount), currency=currency)


class TestOrders:
    def test_a_paid_order_enrols_the_customer_and_earns(self, push, base_rate, session, program):
        outcome = push(order_paid("42.50", order_id="1001"))
        assert outcome.status == "processed" and outcome.points == 42
        assert outcome.member.external_id == "c-1" and outcome.member.email == "c-1@example.com"
        order = session.scalar(select(Order))
        assert (order.external_id, order.status, order.total_minor, order.member_id) == (
            "1001",
            "paid",
            4250,
            outcome.member.id,
        )
        assert available(session, program, "c-1") == 42

    def test_the_same_order_twice_earns_once(self, push, base_rate, session, program):
        event = order_paid("42.50", order_id="1001")
        push(event)
        before = snapshot(session)
        again = push(event)
        assert again.status == "duplicate" and again.points == 0
        assert snapshot(session) == before

    def test_rule_keys_make_a_replayed_award_post_once(self, push, base_rate, session):
        push(order_paid("10.00", order_id="A"))
        keys = session.scalars(select(Entry.idempotency_key)).all()
        assert keys == [f"order:{session.scalar(select(Order.id))}:rule:{base_rate.id}"]

    def test_return_window_keeps_points_pending_then_releases(self, push, base_rate, session, program, clock):
        from loyalty.ledger import Ledger

        program.return_window_days = 14
        session.commit()
        push(order_paid("30.00"))
        assert (available(session, program, "c-1"), pending(session, program, "c-1")) == (0, 30)
        clock.advance(timedelta(days=14))
        Ledger(session, clock).release_due(program.id)
        session.commit()
        assert (available(session, program, "c-1"), pending(session, program, "c-1")) == (30, 0)

    def test_guest_orders_are_recorded_without_points(self, push, base_rate, session):
        outcome = push(order_paid("25.00", customer=None, order_id="G1"))
        assert outcome.status == "processed" and outcome.member is None and outcome.points == 0
        assert session.scalar(select(Order.member_id)) is None

    def test_paused_rules_do_not_award(self, push, base_rate, session, registry, clock):
        from loyalty.earning.rules import update_rule

        update_rule(session, base_rate, registry, active=False, clock=clock)
        session.commit()
        assert push(order_paid("25.00")).points == 0

    @pytest.mark.parametrize(
        "fields, message",
        [
            ({"currency": "EUR"}, "EUR"),
            ({"total": "10.001"}, "decimal places"),
            ({"total": "ten"}, "not an amount"),
            ({"total": 10.5}, "float"),
            ({"total": "-1.00"}, "negative"),
            ({"order_id": ""}, "order_id must not be empty"),
        ],
    )
    def test_bad_orders_change_nothing(self, push, base_rate, session, fields, message):
        from dataclasses import replace

        event = replace(order_paid("10.00"), **fields)
        before = snapshot(session)
        with pytest.raises(errors.InvalidInput, match=message):
            push(event)
        session.rollback()
        assert snapshot(session) == before
        assert session.scalar(select(func.count()).select_from(Order)) == 0


class TestRefunds:
    def test_partial_refunds_claw_back_in_proportion(self, push, base_rate, session, program):
        push(order_paid("100.00", order_id="1"))
        assert push(refund("1", "r1", "25.00")).points == -25
        assert available(session, program, "c-1") == 75
        assert session.scalar(select(Order.status)) == "partially_refunded"

    def test_partial_refunds_summing_to_a_full_refund_take_everything(self, push, add_rule, session, program):
        add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
        add_rule("first_order_bonus", {"points": 7}, name="First")
        push(order_paid("10.00", order_id="1"))  # 10 + 7 = 17 points
        for index, amount in enumerate(["3.33", "3.33", "3.34"]):
            push(refund("1", f"r{index}", amount))
        assert available(session, program, "c-1") == 0
        assert session.scalar(select(Order.status)) == "refunded"

    def test_the_same_refund_twice_changes_nothing(self, push, base_rate, session):
        push(order_paid("100.00", order_id="1"))
        push(refund("1", "r1", "50.00"))
        before = snapshot(session)
        assert push(refund("1", "r1", "50.00")).status == "duplicate"
        assert snapshot(session) == before

    def test_refunding_more_than_the_total_is_capped_at_what_was_earned(self, push, base_rate, session, program):
        push(order_paid("10.00", order_id="1"))
        push(refund("1", "r1", "8.00"))
        push(refund("1", "r2", "8.00"))
        assert available(session, program, "c-1") == 0

    def test_refund_takes_pending_points_first(self, push, add_rule, session, program, clock):
        program.return_window_days = 30
        session.commit()
        add_rule("points_per_currency", {"points_per_unit": "1"})
        push(order_paid("40.00", order_id="1"))
        from loyalty.ledger import Ledger
        from loyalty.programs.members import get_member

        Ledger(session, clock).adjust(get_member(session, program, "c-1"), 100, key="goodwill", reason="x", actor="t")
        session.commit()
        push(refund("1", "r1", "10.00"))
        assert (pending(session, program, "c-1"), available(session, program, "c-1")) == (30, 100)

    def test_a_refund_before_its_order_waits_and_then_applies(self, push, base_rate, session, program):
        before = snapshot(session)
        with pytest.raises(errors.OrderNotFound) as caught:
            push(refund("7", "r1", "5.00"))
        assert caught.value.retryable
        session.rollback()
        assert snapshot(session) == before
        push(order_paid("20.00", order_id="7"))
        assert push(refund("7", "r1", "5.00")).points == -5
        assert available(session, program, "c-1") == 15

    @pytest.mark.parametrize(
        "event, error",
        [
            (refund("1", "r1", "0"), "positive"),
            (refund("1", "r1", "1.234"), "decimal places"),
            (refund("1", "r1", "1.00", currency="EUR"), "EUR"),
            (refund("1", "", "1.00"), "refund_id must not be empty"),
        ],
    )
    def test_bad_refunds_change_nothing(self, push, base_rate, session, event, error):
        push(order_paid("20.00", order_id="1"))
        before = snapshot(session)
        with pytest.raises(errors.InvalidInput, match=error):
            push(event)
        session.rollback()
        assert snapshot(session) == before

    def test_claw_back_policy_caps_at_zero(self, push, base_rate, session, program, clock):
        from loyalty.ledger import Ledger
        from loyalty.programs.members import get_member

        program.clawback_policy = "cap_at_zero"
        session.commit()
        push(order_paid("50.00", order_id="1"))
        Ledger(session, clock).redeem(get_member(session, program, "c-1"), 45, key="spend")
        session.commit()
        outcome = push(refund("1", "r1", "50.00"))
        assert [(p.moved, p.shortfall) for p in outcome.reversals] == [(5, 45)]
        assert available(session, program, "c-1") == 0


class TestCancellations:
    def test_cancel_reverses_everything_left(self, push, base_rate, session, program):
        push(order_paid("60.00", order_id="1"))
        push(refund("1", "r1", "15.00"))
        assert push(OrderCancelled("1")).points == -45
        assert available(session, program, "c-1") == 0
        before = snapshot(session)
        assert push(OrderCancelled("1")).status == "duplicate"
        assert snapshot(session) == before

    def test_a_cancelled_order_ignores_late_payments_and_refunds(self, push, base_rate, session):
        event = order_paid("60.00", order_id="1")
        push(event)
        push(OrderCancelled("1"))
        before = snapshot(session)
        assert push(event).status == "ignored"
        assert push(refund("1", "r1", "10.00")).status == "ignored"
        assert snapshot(session) == before

    def test_cancel_before_the_order_is_known_waits(self, push, session):
        with pytest.raises(errors.OrderNotFound):
            push(OrderCancelled("404"))
        session.rollback()


class TestDryRun:
    def test_simulate_posts_nothing(self, session, program, base_rate, registry, clock):
        before = snapshot(session)
        awards = simulate(session, program, order_paid("80.00"), registry=registry, clock=clock)
        assert [(a.rule_name, a.points) for a in awards] == [("Base", 80)]
        assert snapshot(session) == before

    def test_simulate_a_draft_rule_and_a_member(self, session, program, base_rate, registry, clock, push):
        push(order_paid("10.00"))  # c-1 has a first order now
        drafts = [{"type": "first_order_bonus", "name": "Welcome order", "config": {"points": 100}}]
        as_member = simulate(
            session,
            program,
            order_paid("80.00"),
            member_external_id="c-1",
            extra_rules=drafts,
            registry=registry,
            clock=clock,
        )
        as_new = simulate(session, program, order_paid("80.00"), extra_rules=drafts, registry=registry, clock=clock)
        assert [a.points for a in as_member] == [80]
        assert [a.points for a in as_new] == [80, 100]
        with pytest.raises(errors.InvalidInput):
            simulate(
                session,
                program,
                order_paid("1.00"),
                extra_rules=[{"type": "first_order_bonus", "config": {}}],
                registry=registry,
                clock=clock,
            )


class Recorder:
    """A plugin that records lifecycle notifications."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def member_enrolled(self, program, member):
        self.calls.append(("enrolled", member.external_id))

    @hookimpl
    def points_posted(self, program, member, posting, cause):
        self.calls.append(("posted", member.external_id, posting.amount, cause["type"]))


def test_lifecycle_hooks_fire_once(session, program, base_rate, clock):
    recorder = Recorder()
    registry = build_registry(extra=[recorder])
    event = order_paid("12.00", order_id="1")
    process(session, program, event, registry=registry, clock=clock)
    process(session, program, event, registry=registry, clock=clock)
    process(session, program, CustomerCreated(Customer("c-1")), registry=registry, clock=clock)
    session.commit()
    assert recorder.calls == [("enrolled", "c-1"), ("posted", "c-1", 12, "order")]


def test_concurrent_deliveries_of_one_order_earn_once(session, program, add_rule, registry, clock, is_postgres):
    """The same order delivered by 8 workers at once (create and paid, retries): one award."""
    import threading

    from sqlalchemy.orm import Session

    from loyalty.db import db
    from loyalty.earning.pipeline import enrol

    add_rule("points_per_currency", {"points_per_unit": "1"})
    add_rule("first_order_bonus", {"points": 50})
    enrol(session, program, Customer("c-1"), registry=registry, clock=clock)
    session.commit()
    barrier = threading.Barrier(8)
    failures = []
    engine = db.engine

    def deliver(order_id):
        with Session(engine, expire_on_commit=False) as own:
            target = own.merge(program, load=True)
            own.commit()
            barrier.wait()
            try:
                process(own, target, order_paid("30.00", order_id=order_id), registry=registry, clock=clock)
                own.commit()
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                own.rollback()
                failures.append(exc)

    threads = [threading.Thread(target=deliver, args=("1" if i % 2 else "2",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    # Two orders of 30 points; the first-order bonus once, whichever came first.
    assert available(session, program, "c-1") == 30 + 30 + 50
