"""Refunds and cancellations set-based leave everything as processing them one at a time does.

Two identical programs have the same paid orders (several members, a
base rate and a first-order bonus, points pending or available, a member
in debt, one whose points are spent, a guest order). The same random
rounds of refunds and cancellations (partial, full, cumulative, repeated,
too large, zero or negative, in the wrong currency, of unknown orders,
without a refund id; cancelling refunded orders, refunding cancelled
ones) go to both: one program processes each event with
:func:`~loyalty.earning.pipeline.process`; the other hands each round to
:func:`~loyalty.earning.batch_changes.process_order_changes` and processes
what it hands back one by one, as the worker's batch does. A round holds
at most one event per order and per member (what the batch's waves
guarantee). Balances, entries, lots, orders, refunds, outbox events,
tiers, referrals and every event's outcome must come out the same.
"""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from loyalty import errors
from loyalty.earning.batch_changes import process_order_changes
from loyalty.earning.event_checks import checked
from loyalty.earning.events import Customer, OrderCancelled, OrderPaid, OrderRefunded
from loyalty.earning.pipeline import Pipeline, process
from loyalty.earning.rules import add_rule
from loyalty.ledger import Ledger
from loyalty.models import Member, Order, OrderRefund, Referral, Tier
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.referrals import set_terms
from loyalty.tiers.levels import add_tier
from tests.helpers import statements_issued
from tests.test_worker_batches import state as ledger_state

#: The paid orders every program starts with: (order id, customer or None for a guest, total).
ORDERS = [
    ("o0", "m0", "100.00"),  # m0 owes 40 points before it
    ("o1", "m0", "50.00"),  # m0's second order: no first-order bonus
    ("o2", "m1", "80.00"),
    ("o3", "m2", "120.00"),  # m2 spends most of its points (when they are available)
    ("o4", "m3", "30.50"),
    ("o5", None, "40.00"),  # a guest order: refunds are recorded, nothing to claw back
]
UNKNOWN = ["o8", "o9"]
ORDER_IDS = [order_id for order_id, _, _ in ORDERS] + UNKNOWN
CUSTOMER_OF = {order_id: customer for order_id, customer, _ in ORDERS}

change = st.one_of(
    st.tuples(
        st.just("refund"),
        st.sampled_from(ORDER_IDS),
        st.sampled_from(["r1", "r2", "r3", ""]),  # "" has no refund id
        st.sampled_from(["10.00", "25.50", "33.33", "50.00", "80.00", "200.00", "0", "-5", "0.001"]),
        st.sampled_from(["USD"] * 5 + ["EUR"]),
        st.booleans(),  # cumulative
    ),
    st.tuples(st.just("cancel"), st.sampled_from(ORDER_IDS)),
)

_runs = itertools.count()


def setup_program(session, registry, clock, slug: str, window: int, policy: str, *, referrals: bool = False):
    program = create_program(
        session,
        slug=slug,
        name=slug,
        currency="USD",
        return_window_days=window,
        clawback_policy=policy,
        clock=clock,
    )
    add_rule(
        session,
        program,
        registry,
        type="points_per_currency",
        name="Base",
        config={"points_per_unit": "1"},
        clock=clock,
    )
    add_rule(session, program, registry, type="first_order_bonus", name="First", config={"points": 25}, clock=clock)
    add_tier(session, program, name="Silver", rank=1, threshold=100, clock=clock)
    if referrals:
        set_terms(program, registry, referrer_points=500, friend_points=200, min_order="10.00", review_days=14)
    ledger = Ledger(session, clock)
    members = {f"m{i}": enrol(session, program, external_id=f"m{i}", clock=clock)[0] for i in range(4)}
    debt = ledger.earn(members["m0"], 40, key="setup:earn")
    ledger.redeem(members["m0"], 40, key="setup:spend")
    ledger.reverse(debt.entry_id, key="setup:reverse", reason="chargeback", actor="test")
    session.commit()
    for order_id, customer, total in ORDERS:
        pay(session, program, registry, clock, order_id, customer, total)
    if window == 0:
        ledger.redeem(members["m2"], 130, key="setup:spend-m2")  # of 145: a full refund meets a shortfall
    session.commit()
    return program


def pay(session, program, registry, clock, order_id, customer, total, codes=()):
    process(
        session,
        program,
        OrderPaid(
            order_id=order_id,
            customer=Customer(external_id=customer) if customer else None,
            currency="USD",
            subtotal=Decimal(total),
            total=Decimal(total),
            discount_codes=tuple(codes),
        ),
        registry=registry,
        clock=clock,
    )
    session.commit()


def event_of(step):
    if step[0] == "cancel":
        return OrderCancelled(order_id=step[1])
    _, order_id, refund_id, amount, currency, cumulative = step
    return OrderRefunded(
        order_id=order_id, refund_id=refund_id, amount=Decimal(amount), currency=currency, cumulative=cumulative
    )


def one_per_order_and_member(steps):
    """What the scheduler's waves guarantee a call: no two events share an order or a member."""
    kept, seen = [], set()
    for step in steps:
        keys = {("order", step[1])} | ({("member", CUSTOMER_OF[step[1]])} if CUSTOMER_OF.get(step[1]) else set())
        if not keys & seen:
            kept.append(step)
            seen |= keys
    return kept


def told(program, outcome=None, error=None):
    """An event's outcome as the store and the caller see it, the same in both programs."""
    if error is not None:
        return (type(error).__name__, str(error).replace(program.slug, "<program>"))
    return (
        outcome.status,
        outcome.message,
        outcome.note,
        outcome.points,
        outcome.member.external_id if outcome.member else None,
        outcome.order.external_id if outcome.order else None,
        [(r.amount, r.shortfall, r.replayed) for r in outcome.reversals],
    )


def one_by_one(session, program, registry, clock, event):
    try:
        return told(program, process(session, program, event, registry=registry, clock=clock))
    except errors.LoyaltyError as error:
        return told(program, error=error)


def state(session, program) -> dict:
    """The ledger's state (tests/test_worker_batches.py), and the orders, refunds, tiers and referrals in full."""
    members = dict(session.execute(select(Member.id, Member.external_id).where(Member.program_id == program.id)).all())
    tiers = dict(session.execute(select(Tier.id, Tier.name).where(Tier.program_id == program.id)).all())
    orders = list(session.scalars(select(Order).where(Order.program_id == program.id)))
    external = {o.id: o.external_id for o in orders}
    return {
        **ledger_state(session, program),
        "orders_in_full": sorted(
            (
                o.external_id,
                members.get(o.member_id),
                o.status,
                o.refunded_minor,
                str(o.cancelled_at),
                str(o.updated_at),
            )
            for o in orders
        ),
        "refunds": sorted(
            (external[r.order_id], r.external_id, r.amount_minor, str(r.refunded_at), str(r.created_at))
            for r in session.scalars(select(OrderRefund).where(OrderRefund.order_id.in_(list(external))))
        ),
        "tiers": sorted(
            (m.external_id, tiers.get(m.tier_id))
            for m in session.scalars(select(Member).where(Member.program_id == program.id))
        ),
        "referrals": sorted(
            (r.friend_external_id, r.status, r.reason or "", external.get(r.order_id))
            for r in session.scalars(select(Referral).where(Referral.program_id == program.id))
        ),
    }


def batched(session, program, registry, clock, steps) -> list:
    """A round as the worker's wave does it: set-based, then what was handed back, one by one in order."""
    pipeline = Pipeline(session, program, registry=registry, clock=clock)
    fit, outcomes = [], [None] * len(steps)
    for i, step in enumerate(steps):
        try:
            fit.append((i, checked(event_of(step))))
        except errors.LoyaltyError:
            pass  # refused on entry: process() says so below
    done = process_order_changes(pipeline, fit)
    for i, outcome in done.items():
        outcomes[i] = told(program, outcome)
    handed_back = set()
    for i, step in enumerate(steps):
        if outcomes[i] is None:
            handed_back.add(i)
            outcomes[i] = one_by_one(session, program, registry, clock, event_of(step))
    session.commit()
    return outcomes, handed_back


@settings(
    max_examples=int(os.environ.get("BATCH_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(
    window=0,
    policy="cap_at_zero",
    rounds=[
        [("refund", "o3", "r1", "120.00", "USD", False), ("refund", "o0", "r1", "25.50", "USD", False)],
        [("refund", "o0", "r1", "25.50", "USD", False), ("cancel", "o3"), ("refund", "o2", "r1", "80.00", "USD", True)],
        [("refund", "o3", "r2", "10.00", "USD", False), ("refund", "o1", "r2", "200.00", "USD", False)],
        [("cancel", "o0"), ("refund", "o5", "r1", "10.00", "USD", False), ("cancel", "o9")],
        [("refund", "o4", "", "10.00", "USD", False), ("refund", "o2", "r3", "0", "USD", False)],
    ],
)
@example(
    window=14,
    policy="allow_negative",
    rounds=[
        [("refund", "o0", "r1", "33.33", "USD", False), ("refund", "o2", "r1", "50.00", "EUR", False)],
        [
            ("refund", "o0", "r2", "50.00", "USD", True),
            ("cancel", "o4"),
            ("refund", "o5", "r1", "200.00", "USD", False),
        ],
        [("cancel", "o0"), ("refund", "o4", "r1", "10.00", "USD", False), ("cancel", "o5")],
    ],
)
@given(
    window=st.sampled_from([0, 14]),
    policy=st.sampled_from(["allow_negative", "cap_at_zero"]),
    rounds=st.lists(st.lists(change, min_size=1, max_size=8), min_size=1, max_size=4),
)
def test_changes_set_based_match_one_event_at_a_time(session, registry, clock, window, policy, rounds):
    run = next(_runs)
    alone = setup_program(session, registry, clock, f"alone-{run}", window, policy)
    together = setup_program(session, registry, clock, f"together-{run}", window, policy)
    for steps in rounds:
        steps = one_per_order_and_member(steps)
        expected = []
        for step in steps:
            expected.append(one_by_one(session, alone, registry, clock, event_of(step)))
            session.commit()
        got, handed_back = batched(session, together, registry, clock, steps)
        assert got == expected
        # Only what one by one refuses is handed back (no referrals here): the rest is processed set-based.
        assert handed_back == {i for i, outcome in enumerate(expected) if len(outcome) == 2}
    session.expire_all()
    want, got = state(session, alone), state(session, together)
    for part in want:
        assert got[part] == want[part], part


def _count(session, program, registry, clock, events) -> tuple[int, int, dict]:
    """Statements of one call: ``(statements, reversals posted, outcomes)``."""
    pipeline = Pipeline(session, program, registry=registry, clock=clock)
    with statements_issued(session) as statements:
        done = process_order_changes(pipeline, [(i, checked(e)) for i, e in enumerate(events)])
    session.commit()
    return len(statements), sum(len(o.reversals) for o in done.values()), done


@pytest.mark.parametrize("window", [0, 14])  # points clawed back from available, or from pending
def test_the_changes_take_a_fixed_number_of_statements(session, registry, clock, window):
    """1 or 20 refunds, cancellations or both: the same statements, reversals included."""
    program = create_program(
        session, slug="counted", name="counted", currency="USD", return_window_days=window, clock=clock
    )
    add_rule(
        session,
        program,
        registry,
        type="points_per_currency",
        name="Base",
        config={"points_per_unit": "1"},
        clock=clock,
    )
    add_rule(session, program, registry, type="first_order_bonus", name="First", config={"points": 25}, clock=clock)
    session.commit()
    orders = (f"c{n}" for n in itertools.count())
    for order_id in itertools.islice(orders, 84):
        pay(session, program, registry, clock, order_id, f"k-{order_id}", "50.00")
    orders = (f"c{n}" for n in itertools.count())

    def refund():  # a partial refund: it claws back from both of the order's entries (base, bonus)
        return OrderRefunded(order_id=next(orders), refund_id="r1", amount=Decimal("40.00"), currency="USD")

    def cancel():
        return OrderCancelled(order_id=next(orders))

    for make in ([refund], [cancel], [refund, cancel]):
        few = [kind() for kind in make]
        many = [make[n % len(make)]() for n in range(20)]
        small, small_reversals, done = _count(session, program, registry, clock, few)
        assert [o.status for o in done.values()] == ["processed"] * len(few) and small_reversals == 2 * len(few)
        large, large_reversals, done = _count(session, program, registry, clock, many)
        assert [o.status for o in done.values()] == ["processed"] * 20 and large_reversals == 40
        assert large == small, make
        again, reversals, done = _count(session, program, registry, clock, many)  # repeats: no reversal, no more
        assert [o.status for o in done.values()] == ["duplicate"] * 20 and reversals == 0
        assert again <= small


def test_an_order_under_a_referral_review_is_handed_back(session, registry, clock):
    """The friend's qualifying order goes one by one, and the referral ends as one by one leaves it."""
    programs = []
    for name in ("alone", "together"):
        program = setup_program(session, registry, clock, f"referral-{name}", 14, "allow_negative", referrals=True)
        referrer = session.scalar(select(Member).where(Member.program_id == program.id, Member.external_id == "m1"))
        pay(session, program, registry, clock, "f1", "friend", "60.00", codes=[referrer.referral_code])
        referral = session.scalar(select(Referral).where(Referral.program_id == program.id))
        assert referral.status in ("converted", "flagged") and referral.order_id is not None
        programs.append(program)
    alone, together = programs
    events = [
        OrderCancelled(order_id="f1"),
        OrderRefunded(order_id="o2", refund_id="r1", amount=Decimal("10"), currency="USD"),
    ]

    expected = [one_by_one(session, alone, registry, clock, event) for event in events]
    session.commit()
    pipeline = Pipeline(session, together, registry=registry, clock=clock)
    done = process_order_changes(pipeline, list(enumerate(events)))
    assert list(done) == [1]  # the refund of an order no referral depends on is processed; the friend's is not
    got = [None, told(together, done[1])]
    got[0] = one_by_one(session, together, registry, clock, events[0])
    session.commit()
    assert got == expected
    session.expire_all()
    want, have = state(session, alone), state(session, together)
    assert [r[1] for r in have["referrals"]] == ["cancelled"]
    for part in want:
        assert have[part] == want[part], part
