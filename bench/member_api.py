"""The member API's ``GET /me`` (what the widget asks first on every page view), in-process, against the store's API
reading the same member in the same run.

For each backend, a fresh database with the migrations and a program set up
as a real store's is: a base rate, a first-order bonus, a product
multiplier, a sign-up bonus, three tiers on points earned, referral terms,
points that expire after a year, a catalog. ``--members`` customers with a
store's spread of histories (one to twelve orders each, of 1 to 6 lines, a
refund on about one order in ten, some redemptions), so a member's ``/me``
reads a ledger of a few to a few dozen entries.

Then requests through the Flask test client (routing, the JSON body, the
database; no network), interleaved so both see the same caches:

* **baseline**: ``GET /api/v1/members/<id>`` with an API key: the store's
  server reading the member (balances, tier, progress, referral link);
* **/me, returning**: ``GET /member/v1/<program>/me`` with a fresh JWT: the
  token's signature and claims, the per-member rate limit (a counted hit, a
  write on its own connection), the member, their next expiry;
* **/me, new customer**: the same for a customer the platform has not seen:
  enrolment with the sign-up rule, in the request.

Reports p50 and p99 in milliseconds and the ratio of each p50 to the
baseline's. Usage::

    .venv/bin/python bench/member_api.py [--members 2000] [--requests 2000] [--database-url postgresql+psycopg://…/db]

The database given is emptied (its public schema dropped).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402

PRODUCTS = [
    ("Espresso beans 1 kg", "COF-1", "coffee", "24.00"),
    ("Filter papers", "PAP-1", "kitchen", "4.50"),
    ("Grinder", "GRI-1", "kitchen", "89.00"),
    ("Mug", "MUG-1", "kitchen", "12.00"),
    ("Decaf 250 g", "COF-2", "coffee", "9.90"),
    ("Gift card", "GFT-1", "gifts", "25.00"),
]


def setup(app, members: int, rng: random.Random) -> None:
    from loyalty.access.api_keys import create_key
    from loyalty.db import db
    from loyalty.earning.events import Customer, Line, OrderPaid, OrderRefunded
    from loyalty.earning.pipeline import process
    from loyalty.earning.rules import add_rule
    from loyalty.programs.program import create_program, update_program
    from loyalty.referrals import set_terms
    from loyalty.registry import current_registry
    from loyalty.rewards import add_reward, redeem
    from loyalty.tiers.levels import add_tier, set_scheme
    from loyalty.widget.settings import enable

    session, registry, clock = db.session, current_registry(), app.config["CLOCK"]
    program = create_program(session, slug="bench", name="Bench Coffee", currency="USD", clock=clock)
    update_program(session, program, expiry_policy="after_days", expiry_after=365)
    for kind, config, name in [
        ("points_per_currency", {"points_per_unit": "1"}, "Base rate"),
        ("first_order_bonus", {"points": 100}, "First order"),
        ("product_multiplier", {"multiplier": "2", "categories": ["coffee"]}, "Double on coffee"),
        ("signup_bonus", {"points": 50}, "Welcome"),
    ]:
        add_rule(session, program, registry, type=kind, config=config, name=name, clock=clock)
    for rank, (name, threshold) in enumerate([("Bronze", 0), ("Silver", 500), ("Gold", 1500)], start=1):
        add_tier(session, program, name=name, rank=rank, threshold=threshold, clock=clock)
    set_scheme(session, program, registry, "points_earned", {})
    set_terms(program, registry, referrer_points=500, friend_points=250, link="https://shop.example/?ref={code}")
    five = add_reward(
        session,
        program,
        registry,
        type="fixed_amount_code",
        name="5 off",
        points=500,
        config={"amount": "5.00"},
        clock=clock,
    )
    for name, points in [("Free shipping", 300), ("10 off", 1000)]:
        add_reward(
            session,
            program,
            registry,
            type="fixed_amount_code",
            name=name,
            points=points,
            config={"amount": "1.00"},
            clock=clock,
        )
    enable(session, program, origins=["https://shop.example"], clock=clock)
    app.config["BENCH_KEY"] = create_key(session, program, name="bench", clock=clock).secret
    session.commit()
    order = 0
    for n in range(members):
        customer = Customer(f"cust-{n}", f"cust-{n}@example.com", f"Customer {n}")
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4, 6, 8, 12])):
            order += 1
            lines = tuple(
                Line(id=str(i), title=title, quantity=q, total=Decimal(price) * q, sku=sku, categories=(cat,))
                for i, (title, sku, cat, price) in enumerate(rng.sample(PRODUCTS, rng.randint(1, 4)))
                for q in [rng.randint(1, 3)]
            )
            subtotal = sum(line.total for line in lines)
            process(
                session,
                program,
                OrderPaid(
                    order_id=str(order),
                    customer=customer,
                    currency="USD",
                    subtotal=subtotal,
                    total=subtotal + Decimal("4.90"),
                    discount=Decimal(0),
                    tax=Decimal(0),
                    shipping=Decimal("4.90"),
                    lines=lines,
                ),
                registry=registry,
                clock=clock,
            )
            if rng.random() < 0.1:
                process(
                    session,
                    program,
                    OrderRefunded(str(order), f"r{order}", subtotal / 2, "USD"),
                    registry=registry,
                    clock=clock,
                )
        session.commit()
    from loyalty.ledger import Ledger
    from loyalty.programs.members import find_member

    for n in range(0, members, 7):
        member = find_member(session, program, f"cust-{n}")
        if Ledger(session).balances(member.id)["available"] >= 500:
            redeem(session, program, member, five.id, key=f"bench-{n}", registry=registry, clock=clock)
    session.commit()


def run(url: str, members: int, requests: int) -> list[tuple[str, float, float]]:
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.clock import SystemClock
    from loyalty.db import db
    from loyalty.invariants import verify
    from loyalty.programs.program import get_program
    from loyalty.widget.settings import settings_of
    from loyalty.widget.tokens import make_jwt

    reset(url)
    rng = random.Random(17)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEMBER_RATE_LIMIT": "1000000 per minute"})
    with app.app_context():
        upgrade()
        setup(app, members, rng)
        secret = settings_of(db.session, get_program(db.session, "bench")).secret
        db.session.remove()
    client, clock = app.test_client(), SystemClock()
    api_headers = {"Authorization": f"Bearer {app.config['BENCH_KEY']}"}
    times: dict[str, list[float]] = {
        "baseline: GET /api/v1/members/<id>": [],
        "/me, returning member": [],
        "/me, new customer (enrols)": [],
    }
    labels = list(times)
    for n in range(requests):
        returning = f"cust-{rng.randrange(members)}"
        token = make_jwt(secret, returning, clock=clock)  # the store's server makes it, not us: not timed
        new = make_jwt(secret, f"new-{n}", clock=clock, email=f"new-{n}@example.com")
        calls = [
            (labels[0], lambda: client.get(f"/api/v1/members/{returning}", headers=api_headers)),
            (labels[1], lambda: client.get("/member/v1/bench/me", headers={"Authorization": f"Bearer {token}"})),
            (labels[2], lambda: client.get("/member/v1/bench/me", headers={"Authorization": f"Bearer {new}"})),
        ]
        rng.shuffle(calls)
        for label, call in calls:
            start = time.perf_counter()
            answer = call()
            times[label].append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, (label, answer.status_code, answer.get_json())
    with app.app_context():
        violations = verify(db.session)
        assert not violations, violations
    return [(label, statistics.median(ms), statistics.quantiles(ms, n=100)[98]) for label, ms in times.items()]


def table(title: str, rows) -> str:
    base = rows[0][1]
    out = [f"| {title} | p50 ms | p99 ms | p50 vs baseline |", "|---|---:|---:|---:|"]
    out += [f"| {label} | {p50:.2f} | {p99:.2f} | {p50 / base:.2f} |" for label, p50, p99 in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", help="PostgreSQL instead of a temporary SQLite file (emptied!)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        rows = run(url, args.members, args.requests)
    print(table(f"{backend}, {args.members:,} members, {args.requests:,} requests each", rows))


if __name__ == "__main__":
    main()
