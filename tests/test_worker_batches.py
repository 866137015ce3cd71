"""A worker's batch leaves the ledger exactly as processing one delivery at a time does.

The same random sequence of Shopify deliveries (paid orders from enrolled,
new and suspended customers, repeats, refunds, cancellations, orders in
the wrong currency, a member in debt) is stored for two identical
programs. One program's deliveries are processed one by one, each in its
own transaction, as the request does inline; the other's by
``inbox.process_batch``, which posts independent paid orders set-based
(``loyalty/earning/batch.py``). Balances, entries, lots, orders and every
delivery's status must come out the same.
"""

from __future__ import annotations

import itertools
import json
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.earning.rules import add_rule
from loyalty.ledger import Ledger
from loyalty.models import (
    Account,
    Entry,
    Lot,
    LotConsumption,
    Member,
    Order,
    OutboxEvent,
    Referral,
    Tier,
    TierChange,
    WebhookDelivery,
)
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from loyalty.referrals import set_terms
from loyalty.storefronts.connections import add_storefront
from loyalty.tiers.levels import add_tier, set_member_tier, set_scheme
from loyalty.webhooks import inbox
from tests.helpers import statements_issued
from tests.helpers.webhooks import SECRETS, post_deliveries, shopify_delivery, shopify_headers

CUSTOMERS = 5  # c0 in debt, c1 in a double-points tier, c2 suspended, c3 and c4 not enrolled yet
ORDERS = 8

delivery = st.one_of(
    st.tuples(
        st.just("paid"),
        st.integers(0, ORDERS - 1),
        st.integers(0, CUSTOMERS - 1),
        st.integers(1, 300),
        st.sampled_from(["USD"] * 5 + ["EUR"]),
    ),
    st.tuples(st.just("refund"), st.integers(0, ORDERS - 1), st.integers(0, 3), st.integers(1, 200)),
    st.tuples(st.just("cancel"), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("customer"), st.integers(0, CUSTOMERS - 1)),
    st.tuples(st.just("again"), st.integers(0, 30)),  # the store repeats an earlier delivery
    # A paid order carrying a member's referral code (c0's or c1's): it starts a referral, processed alone.
    st.tuples(
        st.just("referred"),
        st.integers(0, ORDERS - 1),
        st.integers(0, CUSTOMERS - 1),
        st.integers(1, 300),
        st.sampled_from(["REFCODE2", "REFCODE3"]),
    ),
)

_runs = itertools.count()


def setup_program(session, registry, clock, slug: str, window: int):
    program = create_program(session, slug=slug, name=slug, currency="USD", return_window_days=window, clock=clock)
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
    add_rule(session, program, registry, type="signup_bonus", name="Welcome", config={"points": 10}, clock=clock)
    add_storefront(session, program, registry, type="shopify", secret=SECRETS["shopify"], clock=clock)
    # Rewarded at once (no review period), so a friend's order pays the referrer in the same batch.
    set_terms(program, registry, referrer_points=50, friend_points=20, review_days=0, min_order="5")
    set_scheme(session, program, registry, "points_earned")
    add_tier(session, program, name="Silver", rank=2, threshold="40", earn_multiplier="1.5", clock=clock)
    add_tier(session, program, name="Platinum", rank=3, threshold="150", earn_multiplier="2", clock=clock)
    ledger = Ledger(session, clock)
    members = [enrol(session, program, external_id=str(500 + i), clock=clock)[0] for i in range(3)]
    members[0].referral_code, members[1].referral_code = "REFCODE2", "REFCODE3"  # the same in both programs
    # c0 owes 40 points: earned, spent, then the earning was reversed (allow_negative).
    earned = ledger.earn(members[0], 40, key="setup:earn")
    ledger.redeem(members[0], 40, key="setup:spend")
    ledger.reverse(earned.entry_id, key="setup:reverse", reason="chargeback", actor="test")
    set_member_tier(
        session,
        members[1],
        add_tier(session, program, name="Gold", rank=1, earn_multiplier="2", clock=clock),
        clock=clock,
        registry=registry,
    )
    members[2].status = "suspended"
    session.commit()
    return program


def _without_ids(value):
    """An event's data without what differs between two programs: row ids, a member's random referral code."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if not k.endswith("id") and k != "referral_code"}
    return value


def state(session, program) -> dict:
    """Everything processing could change, keyed by what is the same in both programs."""
    members = dict(session.execute(select(Member.id, Member.external_id).where(Member.program_id == program.id)).all())
    accounts = session.execute(
        select(Account.id, Account.member_id, Account.kind, Account.balance).where(Account.program_id == program.id)
    ).all()
    account_name = {a.id: (members.get(a.member_id), a.kind) for a in accounts}
    entries = session.execute(
        select(Entry.member_id, Entry.kind, Entry.amount, Entry.shortfall, Entry.reason, Entry.source_type).where(
            Entry.program_id == program.id
        )
    ).all()
    program_members = session.scalars(select(Member).where(Member.program_id == program.id)).all()
    tier_name = dict(session.execute(select(Tier.id, Tier.name).where(Tier.program_id == program.id)).all())
    lots = session.execute(
        select(Lot.account_id, Lot.amount, Lot.remaining, Lot.release_at).where(Lot.program_id == program.id)
    ).all()
    return {
        "balances": sorted((account_name[a.id], a.balance) for a in accounts if a.member_id),
        "entries": sorted(
            (members[e.member_id], e.kind, e.amount, e.shortfall, e.reason or "", e.source_type or "") for e in entries
        ),
        "lots": sorted((account_name[lot.account_id], lot.amount, lot.remaining, str(lot.release_at)) for lot in lots),
        "consumed": session.scalar(
            select(func.coalesce(func.sum(LotConsumption.amount), 0))
            .join(Lot, Lot.id == LotConsumption.lot_id)
            .where(Lot.program_id == program.id)
        ),
        "orders": sorted(
            (o.external_id, members.get(o.member_id), o.status, o.refunded_minor, o.total_minor)
            for o in session.scalars(select(Order).where(Order.program_id == program.id))
        ),
        # The outbox tells the same, whichever path posted (ids aside: they differ between the programs).
        "events": sorted(
            (
                members.get(e.member_id),
                e.type,
                json.dumps(_without_ids(e.data), sort_keys=True),
            )
            for e in session.scalars(select(OutboxEvent).where(OutboxEvent.program_id == program.id))
        ),
        "tiers": sorted((m.external_id, tier_name.get(m.tier_id, "")) for m in program_members),
        "tier_changes": sorted(
            (members[c.member_id], tier_name.get(c.from_tier_id, ""), tier_name.get(c.to_tier_id, ""), c.reason)
            for c in session.scalars(select(TierChange).where(TierChange.program_id == program.id))
        ),
        "referrals": sorted(
            (
                members[r.referrer_id],
                r.friend_external_id,
                members.get(r.friend_member_id, ""),
                r.status,
                r.reason or "",
            )
            for r in session.scalars(select(Referral).where(Referral.program_id == program.id))
        ),
        "deliveries": [
            (d.status, d.attempts, (d.last_error or "").replace(program.slug, "<program>"), d.note or "")
            for d in session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.program_id == program.id).order_by(WebhookDelivery.id)
            )
        ],
    }


@settings(
    max_examples=int(os.environ.get("BATCH_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # debt settled by a batch earning; a member's second order; a new customer; refund and cancel between
    window=0,
    steps=[
        ("paid", 0, 0, 100, "USD"),
        ("paid", 1, 1, 50, "USD"),
        ("paid", 2, 0, 30, "USD"),
        ("paid", 3, 3, 20, "USD"),
        ("refund", 1, 0, 20),
        ("paid", 4, 4, 10, "USD"),
        ("cancel", 0),
        ("paid", 5, 2, 10, "USD"),
        ("paid", 6, 1, 10, "EUR"),
        ("again", 1),
        ("paid", 7, 1, 70, "USD"),
    ],
)
@given(window=st.sampled_from([0, 14]), steps=st.lists(delivery, min_size=1, max_size=30))
def test_a_batch_matches_one_delivery_at_a_time(app, session, registry, clock, window, steps):
    run = next(_runs)
    one_by_one = setup_program(session, registry, clock, f"inline-{run}", window)
    batched = setup_program(session, registry, clock, f"batched-{run}", window)
    client = app.test_client()
    app.config["WEBHOOK_PROCESSING"] = "queued"
    deliveries: list[tuple[str, bytes, str]] = []
    for n, step in enumerate(steps):
        if step[0] != "again":
            (topic, body), webhook_id = shopify_delivery(step, n), f"d-{n}"
            deliveries.append((topic, body, webhook_id))
        elif deliveries:
            deliveries.append(deliveries[step[1] % len(deliveries)])

    post_deliveries(client, one_by_one, deliveries)
    inbox.retry_due(session, registry=registry, clock=clock, limit=1000)  # each in its own transaction
    post_deliveries(client, batched, deliveries)
    while inbox.process_batch(session, registry=registry, clock=clock, limit=50):
        pass
    session.expire_all()
    expected, got = state(session, one_by_one), state(session, batched)
    for part in expected:
        assert got[part] == expected[part], part


def test_the_batch_posts_set_based(app, session, registry, clock):
    """The fast path is taken: a batch of paid orders costs a fixed number of statements."""
    program = setup_program(session, registry, clock, "counted", 0)
    client = app.test_client()
    app.config["WEBHOOK_PROCESSING"] = "queued"

    def batch_statements(orders: int) -> int:
        for n in range(orders):
            topic, body = shopify_delivery(("paid", orders * 100 + n, 100 + n, 10, "USD"), n)
            client.post("/webhooks/counted/shopify", data=body, headers=shopify_headers(body, topic))
        for n in range(orders):
            enrol(session, program, external_id=str(600 + n), existing="return", clock=clock)
        session.commit()
        with statements_issued(session) as statements:
            done = inbox.process_batch(session, registry=registry, clock=clock)
        assert [d.status for d in done] == ["processed"] * orders
        print("\n".join(s[:150].replace("\n", " ") for s in statements))
        print("-----")
        return len(statements)

    small = batch_statements(5)
    session.execute(WebhookDelivery.__table__.delete())
    session.commit()
    assert batch_statements(40) <= small + 4  # executemany batches may split; never one per delivery
