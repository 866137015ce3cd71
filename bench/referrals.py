"""What referral terms cost the webhook worker, against the same program without them, in one run.

Each scenario builds a fresh database with the migrations, a program with
a base-rate rule, a Shopify storefront and 200 enrolled customers, stores
N signed ``orders/paid`` deliveries through the intake (queued), and times
the worker draining them in batches of 100 (``inbox.process_batch``, as
``loyalty worker`` does). Scenarios:

* ``no terms``: the baseline (orders of known members go set-based);
* ``terms, no codes``: referral terms on, nobody uses a code (the cost of
  looking for pending referrals once per batch);
* ``no terms, 10% new customers``: every tenth order is a new customer's
  first order (enrolment: processed one by one), no code;
* ``terms, 10% new customers referred``: the same orders, each with a
  member's code as its discount code (attribution, the four checks,
  conversion on top). The difference from the line above is what a
  referral costs.

Usage::

    .venv/bin/python bench/referrals.py [--orders 2000] [--database-url postgresql+psycopg://…/db]

The database given is emptied (its public schema dropped) for each scenario.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh import reset  # noqa: E402

SECRET = "bench-shopify-secret-0123456789"
CUSTOMERS = 200


def order(n: int, customer: int, code: str | None) -> tuple[bytes, dict]:
    body = json.dumps(
        {
            "id": 7_000_000 + n,
            "currency": "USD",
            "financial_status": "paid",
            "processed_at": "2026-11-01T10:00:00+00:00",
            "total_line_items_price": "42.00",
            "total_discounts": "5.00" if code else "0.00",
            "total_tax": "0.00",
            "total_price": "37.00" if code else "42.00",
            "shipping_lines": [],
            "discount_codes": [{"code": code, "amount": "5.00", "type": "fixed_amount"}] if code else [],
            "customer": {"id": customer, "email": f"c{customer}@example.com"},
            "line_items": [
                {"id": 1, "title": "Beans", "sku": "BEANS", "quantity": 1, "price": "42.00", "product_id": 7}
            ],
        }
    ).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": f"ref-bench-{n}",
        "Content-Type": "application/json",
    }


def scenario(url: str, orders: int, *, terms: bool, new_share: int, with_code: bool) -> float:
    """Milliseconds per delivery for the worker."""
    from flask_migrate import upgrade

    from loyalty.app import create_app
    from loyalty.db import db
    from loyalty.earning.rules import add_rule
    from loyalty.programs.members import enrol
    from loyalty.programs.program import create_program
    from loyalty.referrals import set_terms
    from loyalty.registry import current_registry
    from loyalty.storefronts.connections import add_storefront
    from loyalty.webhooks import inbox

    reset(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WEBHOOK_PROCESSING": "queued"})
    with app.app_context():
        upgrade()
        registry = current_registry()
        program = create_program(db.session, slug="bench", name="Bench", currency="USD", clock=app.config["CLOCK"])
        add_rule(
            db.session,
            program,
            registry,
            type="points_per_currency",
            name="Base",
            config={"points_per_unit": "1"},
            clock=app.config["CLOCK"],
        )
        add_storefront(db.session, program, registry, type="shopify", secret=SECRET, clock=app.config["CLOCK"])
        codes = [
            enrol(db.session, program, external_id=str(10_000 + n), clock=app.config["CLOCK"])[0].referral_code
            for n in range(CUSTOMERS)
        ]
        if terms:
            set_terms(program, registry, referrer_points=500, friend_points=250, min_order="10.00", review_days=14)
        db.session.commit()
        client = app.test_client()
        for n in range(orders):
            if new_share and n % new_share == 0:  # a new customer, with a member's code or none
                body, headers = order(n, 50_000 + n, codes[n % CUSTOMERS] if with_code else None)
            else:
                body, headers = order(n, 10_000 + n % CUSTOMERS, None)
            assert client.post("/webhooks/bench/shopify", data=body, headers=headers).status_code == 202
        began = time.perf_counter()
        while inbox.process_batch(db.session, registry=registry, limit=100):
            pass
        elapsed = time.perf_counter() - began
        from loyalty.invariants import verify

        assert verify(db.session) == []
        db.session.remove()
        db.engine.dispose()
    return elapsed / orders * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL to use (emptied); default a temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        label = "PostgreSQL" if args.database_url else "SQLite"
        scenarios = (
            ("no terms (baseline)", False, 0, False),
            ("terms, no codes", True, 0, False),
            ("no terms, 10% new customers", False, 10, False),
            ("terms, 10% new customers referred", True, 10, True),
        )
        rows = [
            (
                name,
                scenario(
                    args.database_url or f"sqlite:///{tmp}/{n}.db",
                    args.orders,
                    terms=terms,
                    new_share=share,
                    with_code=code,
                ),
            )
            for n, (name, terms, share, code) in enumerate(scenarios)
        ]
    base = rows[0][1]
    print(f"| {label}, worker, {args.orders} orders | ms per delivery | vs baseline |")
    print("|---|---:|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.2f} | {value / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
