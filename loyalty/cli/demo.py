"""``loyalty demo``: a demo program that shows what the platform does so far.

Safe to run again: every entry uses a fixed idempotency key, so a second
run replays instead of posting twice (the ledger's idempotency, on show).
"""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask.cli import with_appcontext

from loyalty.cli.common import transactional
from loyalty.db import db
from loyalty.ledger import Ledger, verify
from loyalty.members import enrol
from loyalty.programs import create_program, get_program
from loyalty import errors

SLUG = "demo"

MEMBERS = [
    ("cust-ann", "ann@example.com", "Ann Archer", date(1990, 4, 12)),
    ("cust-ben", "ben@example.com", "Ben Baker", None),
    ("cust-cara", "cara@example.com", "Cara Cruz", date(1985, 11, 30)),
    ("cust-dan", "dan@example.com", "Dan Diaz", None),
]


def build_demo(session) -> dict:
    """Create (or find) the demo program and post its story to the ledger."""
    try:
        program = get_program(session, SLUG)
    except errors.UnknownProgram:
        program = create_program(session, slug=SLUG, name="Demo Outfitters", currency="USD")
    # Dates hang off the program's creation, not the wall clock, so that a
    # re-run asks for exactly the same entries and replays them.
    now = program.created_at
    members = {}
    for external_id, email, name, birthday in MEMBERS:
        member, _ = enrol(
            session, program, external_id=external_id, email=email, name=name,
            birthday=birthday, existing="return",
        )
        members[external_id] = member
    ledger = Ledger(session)
    year = now + timedelta(days=365)
    ann, ben, cara, dan = (members[m[0]] for m in MEMBERS)

    # Ann: an order's points, a second order still in its return window,
    # a reward redeemed, and an apology credited by a manager.
    ledger.earn(ann, 500, key="demo:order-1001", expires_at=year, source=("order", "1001"), reason="Order #1001")
    ledger.earn(ann, 120, key="demo:order-1002", pending=True, release_at=now + timedelta(days=14),
                expires_at=year, source=("order", "1002"), reason="Order #1002 (return window)")
    ledger.redeem(ann, 300, key="demo:reward-ann-1", reason="$3 off coupon")
    ledger.adjust(ann, 50, key="demo:adjust-ann-1", reason="Apology for a late delivery", actor="demo")

    # Ben: earns, spends, then the order is partly refunded: the claw-back
    # takes his balance below zero (the program allows negative balances).
    earn = ledger.earn(ben, 200, key="demo:order-2001", expires_at=year, source=("order", "2001"))
    ledger.redeem(ben, 150, key="demo:reward-ben-1", reason="Free shipping")
    ledger.reverse(earn.entry_id, 100, key="demo:refund-2001", reason="Refund of order #2001, 50%")

    # Cara: points that expired unspent.
    ledger.earn(cara, 80, key="demo:order-3001", expires_at=now - timedelta(days=1), source=("order", "3001"))
    ledger.expire_due(program.id)

    # Dan: a fresh sign-up.
    ledger.earn(dan, 25, key="demo:welcome-dan", reason="Welcome bonus")
    return {"program": program, "members": members, "balances": {
        m.external_id: ledger.balances(m.id) for m in members.values()
    }}


@click.command("demo")
@with_appcontext
@transactional
def demo():
    """Create a demo program with members and ledger activity (safe to re-run)."""
    result = build_demo(db.session)
    db.session.flush()
    violations = verify(db.session, SLUG)
    if violations:
        raise click.ClickException("the demo broke an invariant: " + "; ".join(map(str, violations)))
    program = result["program"]
    click.echo(f"Demo program '{program.slug}' ({program.name}) is ready. Balances:")
    for external_id, balances in result["balances"].items():
        click.echo(f"  {external_id:10} available {balances['available']:>5}   pending {balances['pending']:>5}")
    click.echo(
        "\nThere is no admin sign-in yet (it arrives with the admin); explore with the CLI\n"
        "(in .venv/bin; or run: source .venv/bin/activate):\n"
        f"  loyalty members show --program {SLUG} cust-ann\n"
        f"  loyalty points award --program {SLUG} --member cust-dan --amount 40 --reason 'Review written'\n"
        f"  loyalty points redeem --program {SLUG} --member cust-ann --amount 100\n"
        "  loyalty verify\n"
        "Health check: http://127.0.0.1:8000/healthz"
    )


def register(main) -> None:
    main.add_command(demo)
