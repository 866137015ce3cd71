"""``loyalty demo``: a demo program that shows what the platform does so far.

Safe to run again: every entry uses a fixed idempotency key, orders and
events replay as duplicates, so a second run changes nothing (the
ledger's idempotency, on show).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import click
from flask.cli import with_appcontext

from loyalty import errors
from loyalty.cli.common import transactional
from loyalty.db import db
from loyalty.events import Customer, CustomerCreated, CustomEvent, Line, OrderCancelled, OrderPaid, OrderRefunded, enrol, process
from loyalty.ledger import Ledger, verify
from loyalty.members import get_member
from loyalty.programs import create_program, get_program
from loyalty.registry import current_registry
from loyalty.rules import add_rule, list_rules
from loyalty.tiers import add_tier, list_tiers, set_member_tier

SLUG = "demo"

CUSTOMERS = {
    "cust-ann": Customer("cust-ann", "ann@example.com", "Ann Archer", date(1990, 4, 12)),
    "cust-ben": Customer("cust-ben", "ben@example.com", "Ben Baker"),
    "cust-cara": Customer("cust-cara", "cara@example.com", "Cara Cruz", date(1985, 11, 30)),
    "cust-dan": Customer("cust-dan", "dan@example.com", "Dan Diaz"),
}

RULES = [
    ("points_per_currency", "Base rate", {"points_per_unit": "1"}),
    ("product_multiplier", "Triple points on coffee", {"multiplier": "3", "categories": ["coffee"]}),
    ("first_order_bonus", "First order bonus", {"points": 100}),
    ("signup_bonus", "Welcome bonus", {"points": 50}),
    ("custom_event", "Product review", {"event_name": "review_written", "points": 25, "limit": 3, "per": "month"}),
]

TIERS = [("Bronze", 1, "1"), ("Silver", 2, "1.25"), ("Gold", 3, "1.5")]


def _order(order_id, customer, when, lines):
    total = sum((Decimal(price) for _, _, price in lines), Decimal(0))
    return OrderPaid(
        order_id=order_id, customer=CUSTOMERS[customer], currency="USD", subtotal=total, total=total,
        lines=tuple(Line(id=str(i), title=title, quantity=1, total=Decimal(price), categories=(category,))
                    for i, (title, category, price) in enumerate(lines, start=1)),
        occurred_at=when, origin="demo",
    )


def build_demo(session) -> dict:
    """Create (or find) the demo program and play its story through the earning pipeline."""
    registry = current_registry()
    try:
        program = get_program(session, SLUG)
    except errors.UnknownProgram:
        program = create_program(session, slug=SLUG, name="Demo Outfitters", currency="USD", return_window_days=7)
    if not list_tiers(session, program):
        for name, rank, multiplier in TIERS:
            add_tier(session, program, name=name, rank=rank, earn_multiplier=multiplier)
    if not list_rules(session, program):
        for type_, name, config in RULES:
            add_rule(session, program, registry, type=type_, name=name, config=config)
    # Dates hang off the program's creation, not the wall clock, so that a
    # re-run asks for exactly the same entries and replays them.
    start = program.created_at
    month_ago = start - timedelta(days=30)

    def push(event):
        return process(session, program, event, registry=registry)

    for customer in CUSTOMERS.values():
        enrol(session, program, customer, registry=registry)
    gold = next(t for t in list_tiers(session, program) if t.name == "Gold")
    set_member_tier(session, get_member(session, program, "cust-ann"), gold)

    # Ann (Gold, x1.5): a coffee-heavy first order a month ago, a new order
    # still in the return window, a review.
    push(_order("1001", "cust-ann", month_ago, [("Espresso beans", "coffee", "40.00"), ("Mug", "kitchen", "25.00")]))
    push(_order("1002", "cust-ann", start, [("Filter papers", "coffee", "12.00")]))
    push(CustomEvent(event_id="review-1", customer=CUSTOMERS["cust-ann"], name="review_written", occurred_at=start))
    # Ben: an order, half of it refunded: the points follow the money.
    push(_order("2001", "cust-ben", month_ago, [("Rain jacket", "outerwear", "80.00")]))
    push(OrderRefunded(order_id="2001", refund_id="r-2001", amount=Decimal("40.00"), currency="USD",
                       occurred_at=month_ago + timedelta(days=2)))
    # Cara: an order cancelled inside the return window.
    push(_order("3001", "cust-cara", start - timedelta(days=3), [("Boots", "shoes", "60.00")]))
    push(OrderCancelled(order_id="3001", occurred_at=start - timedelta(days=2)))
    # Dan: signed up in the store, no order yet.
    push(CustomerCreated(CUSTOMERS["cust-dan"]))

    ledger = Ledger(session)
    ledger.release_due(program.id)  # the return window of last month's orders has passed
    ann = get_member(session, program, "cust-ann")
    ledger.redeem(ann, 100, key="demo:reward-ann-1", reason="$1 off coupon")
    ledger.adjust(get_member(session, program, "cust-dan"), 20, key="demo:adjust-dan-1",
                  reason="Apology for a late delivery", actor="demo")
    return {"program": program, "balances": {
        external_id: ledger.balances(get_member(session, program, external_id).id) for external_id in CUSTOMERS
    }}


@click.command("demo")
@with_appcontext
@transactional
def demo():
    """Create a demo program with tiers, rules, members and orders (safe to re-run)."""
    result = build_demo(db.session)
    db.session.flush()
    violations = verify(db.session, SLUG)
    if violations:
        raise click.ClickException("the demo broke an invariant: " + "; ".join(map(str, violations)))
    program = result["program"]
    click.echo(f"Demo program '{program.slug}' ({program.name}) is ready: "
               f"{len(TIERS)} tiers, {len(RULES)} earning rules, {len(CUSTOMERS)} members. Balances:")
    for external_id, balances in result["balances"].items():
        click.echo(f"  {external_id:10} available {balances['available']:>5}   pending {balances['pending']:>5}")
    click.echo(
        "\nThere is no admin sign-in yet (it arrives with the admin); explore with the CLI\n"
        "(in .venv/bin; or run: source .venv/bin/activate):\n"
        f"  loyalty members show --program {SLUG} cust-ann\n"
        f"  loyalty rules list --program {SLUG}\n"
        f"  loyalty orders simulate --program {SLUG} --file docs/examples/order.json --member cust-ann\n"
        f"  loyalty events push --program {SLUG} --file docs/examples/order.json\n"
        "  loyalty plugins\n"
        "  loyalty verify\n"
        "Health check: http://127.0.0.1:8000/healthz"
    )


def register(main) -> None:
    main.add_command(demo)
