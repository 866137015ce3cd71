"""The loads ``bench/webhooks.py`` sends: a store's mix of Shopify deliveries, or the old easy load.

Kept apart from the servers and the timing so that the test suite
(``tests/test_bench_store_mix.py``) can post the very same deliveries
through Flask's test client and check that each one is well formed, signed
and ends as expected: a benchmark whose load the platform refuses, or
ignores, measures nothing.

**store** (the default): what a Shopify store sends. Every order is the real
order payload of the fixtures (``tests/fixtures/shopify/order.json``, 16.7 KB
as compact JSON), with only its id, its customer (id, e-mail, name), its
line prices and the totals that follow from them, and its dates changed.
A customer's first order enrols them (there is no warm-up), and a share of
orders comes from a customer already seen in the run. After their order,
as a store sends them, come refunds (``refunds/create``, the fixture's
refund payload, partial or full) and cancellations (``orders/cancelled``,
the order payload again with ``cancelled_at`` set); some follow their
order closely, so in queued mode they often arrive while it still waits
in the inbox. A few deliveries are sent twice with the same webhook id, as
Shopify retries. Each order gets at most one refund or cancellation.

**easy**: the load of the first version of the benchmark, kept so its
figures stay comparable: a small hand-made order payload, 200 customers
enrolled by a warm-up round, nothing but new paid orders.

Everything is deterministic from the seed (and the start date the orders
are dated from). :func:`program_commands` is the program both loads run
against, as ``loyalty`` CLI arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "shopify"
SECRET = "bench-shopify-secret-0123456789"
SLUG = "bench"


def path(slug: str = SLUG) -> str:
    """Where the program's Shopify store posts."""
    return f"/webhooks/{slug}/shopify"


#: The store mix's shares (of all deliveries, or of orders for repeats).
REPEAT_SHARE = 0.15  # of orders: by a customer already seen in this run
REFUND_SHARE = 0.10  # of deliveries: half partial, half full
CANCEL_SHARE = 0.10  # of deliveries
DUPLICATE_SHARE = 0.02  # of deliveries: a delivery sent again with its webhook id
SOON_SHARE = 0.4  # of refunds and cancellations: for one of the last SOON_WINDOW orders
SOON_WINDOW = 40

#: The SKU the program's multiplier rule doubles (one of the fixture order's three lines).
MULTIPLIED_SKU = "IPOD2008RED"
RETURN_WINDOW_DAYS = 14
EASY_CUSTOMERS = 200


@dataclass(frozen=True)
class Delivery:
    """One signed POST. ``after``: the index of the delivery whose answer must come back before this one is sent
    (a refund's or cancellation's order, a retried delivery's first sending), as a store only refunds what it sold."""

    kind: str  # "order", "refund", "cancel" or "duplicate"
    topic: str
    body: bytes
    headers: dict
    after: int | None = None

    @property
    def stored(self) -> bool:
        """Whether the platform keeps it as a new inbox row (a duplicate is answered ``duplicate`` and not stored)."""
        return self.kind != "duplicate"


def sign(body: bytes, topic: str, webhook_id: str, secret: str = SECRET) -> dict:
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Webhook-Id": webhook_id,
        "Content-Type": "application/json",
    }


def program_commands(scenario: str, slug: str = SLUG, secret: str = SECRET) -> list[list[str]]:
    """The program as a store would set it up, as ``loyalty`` CLI arguments (the benchmark and its test run these)."""
    program = ["--program", slug]
    rule = lambda type_, name, config: ["rules", "add", *program, "--type", type_, "--name", name, "--config", config]  # noqa: E731
    if scenario == "easy":
        return [
            ["programs", "create", "--slug", slug, "--name", "Bench", "--currency", "USD"],
            rule("points_per_currency", "Base", '{"points_per_unit": "1"}'),
            ["storefronts", "add", *program, "--type", "shopify", "--secret", secret],
        ]
    return [
        ["programs", "create", "--slug", slug, "--name", "Bench", "--currency", "USD"],
        ["programs", "update", "--slug", slug, "--return-window-days", str(RETURN_WINDOW_DAYS)],
        rule("points_per_currency", "Base rate", '{"points_per_unit": "1"}'),
        rule("product_multiplier", "Double on red", json.dumps({"skus": [MULTIPLIED_SKU], "multiplier": "2"})),
        rule("first_order_bonus", "First order", '{"points": 100}'),
        rule("signup_bonus", "Welcome", '{"points": 50}'),
        ["tiers", "add", *program, "--name", "Bronze", "--rank", "1", "--threshold", "0"],
        [
            "tiers",
            "add",
            *program,
            "--name",
            "Silver",
            "--rank",
            "2",
            "--threshold",
            "1000",
            "--earn-multiplier",
            "1.25",
        ],
        ["tiers", "add", *program, "--name", "Gold", "--rank", "3", "--threshold", "3000", "--earn-multiplier", "1.5"],
        [
            "referrals",
            "terms",
            *program,
            "--referrer-points",
            "500",
            "--friend-points",
            "250",
            "--min-order",
            "25",
            "--monthly-cap",
            "10",
            "--link",
            "https://shop.example.com/?ref={code}",
        ],
        ["storefronts", "add", *program, "--type", "shopify", "--secret", secret],
    ]


# --- the store mix -----------------------------------------------------------------------------------


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _set(amount: str, currency: str) -> dict:
    """Shopify's ``*_set``: the amount in the shop's and the presentment currency (the same here)."""
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


class StoreMix:
    """Builds the store mix's deliveries from the fixtures; ids live in ``namespace`` so that rounds never meet."""

    def __init__(self, namespace: int, start: datetime, secret: str = SECRET):
        self.order_template = _fixture("order.json")  # as text: parsing it again is faster than a deep copy
        self.refund_template = _fixture("refund.json")
        self.lines = len(json.loads(self.order_template)["line_items"])
        self.namespace = namespace
        self.start = start
        self.secret = secret

    def order_id(self, n: int) -> int:
        return 10**12 + self.namespace * 10**7 + n

    def customer_id(self, n: int) -> int:
        return 2 * 10**12 + self.namespace * 10**7 + n

    def order(self, n: int, customer: int, prices: list[Decimal], when: datetime) -> dict:
        """The fixture order with this id, customer and line prices; tax (6%) and totals follow from the prices."""
        data = json.loads(self.order_template)
        currency = data["currency"]
        cid = self.customer_id(customer)
        email = f"shopper{cid}@mail.example.com"
        data.update(id=self.order_id(n), email=email, contact_email=email)
        data["admin_graphql_api_id"] = f"gid://shopify/Order/{data['id']}"
        for field in ("created_at", "processed_at", "updated_at"):
            data[field] = _iso(when)
        data["customer"].update(
            id=cid, email=email, first_name="Shopper", last_name=str(customer), created_at=_iso(when)
        )
        data["customer"]["admin_graphql_api_id"] = f"gid://shopify/Customer/{cid}"
        subtotal = tax = discounts = Decimal(0)
        for line, price in zip(data["line_items"], prices, strict=True):
            allocated = sum(Decimal(a["amount"]) for a in line["discount_allocations"])
            line_tax = (price - allocated) * Decimal("0.06")
            line["price"] = _money(price)
            line["price_set"] = _set(line["price"], currency)
            for tax_line in line["tax_lines"]:
                tax_line["price"] = _money(line_tax)
                tax_line["price_set"] = _set(tax_line["price"], currency)
            subtotal += price * line["quantity"]
            tax += Decimal(_money(line_tax))
            discounts += allocated
        shipping = sum((Decimal(s["price"]) for s in data["shipping_lines"]), Decimal(0))
        total = subtotal - discounts + tax + shipping
        totals = {
            "total_line_items_price": subtotal,
            "subtotal_price": subtotal - discounts,
            "current_subtotal_price": subtotal - discounts,
            "total_discounts": discounts,
            "current_total_discounts": discounts,
            "total_tax": tax,
            "current_total_tax": tax,
            "total_price": total,
            "current_total_price": total,
        }
        for field, value in totals.items():
            data[field] = _money(value)
            if f"{field}_set" in data:
                data[f"{field}_set"] = _set(data[field], currency)
        for tax_line in data["tax_lines"]:
            tax_line["price"] = _money(tax)
            tax_line["price_set"] = _set(tax_line["price"], currency)
        return data

    def refund(self, n: int, order: dict, amount: Decimal, when: datetime) -> dict:
        """The fixture refund for ``order``: one successful refund transaction of ``amount``."""
        data = json.loads(self.refund_template)
        data.update(
            id=self.order_id(n) + 5 * 10**6, order_id=order["id"], created_at=_iso(when), processed_at=_iso(when)
        )
        data["admin_graphql_api_id"] = f"gid://shopify/Refund/{data['id']}"
        for transaction in data["transactions"]:
            transaction.update(
                order_id=order["id"], amount=_money(amount), created_at=_iso(when), processed_at=_iso(when)
            )
        return data

    def cancellation(self, order: dict, when: datetime) -> dict:
        data = {**order}
        data.update(cancelled_at=_iso(when), cancel_reason="customer", updated_at=_iso(when))
        return data

    def delivery(self, kind: str, topic: str, data: dict, index: int, after: int | None) -> Delivery:
        body = json.dumps(data, separators=(",", ":")).encode()
        return Delivery(kind, topic, body, sign(body, topic, f"store-{self.namespace}-{index}", self.secret), after)


def store_mix(requests: int, customers: int, seed: int, namespace: int, start: datetime, secret: str = SECRET):
    """``requests`` deliveries in sending order: orders from up to ``customers`` customers, refunds, cancellations,
    retries (shares above). The first order of each customer is their first contact with the program."""
    rng = random.Random(seed)
    mix = StoreMix(namespace, start, secret)
    deliveries: list[Delivery] = []
    orders: list[tuple[int, dict]] = []  # (delivery index, order payload) of orders without a follow-up yet
    seen = 0  # customers who have ordered in this run
    for index in range(requests):
        when = start + timedelta(seconds=index)
        roll = rng.random()
        if deliveries and roll < DUPLICATE_SHARE:
            original = rng.randrange(max(0, index - 200), index)
            while deliveries[original].kind == "duplicate":
                original -= 1
            first = deliveries[original]
            deliveries.append(Delivery("duplicate", first.topic, first.body, first.headers, original))
            continue
        follow_up = roll < DUPLICATE_SHARE + REFUND_SHARE + CANCEL_SHARE
        if follow_up and orders:
            soon = rng.random() < SOON_SHARE
            pick = rng.randrange(max(0, len(orders) - SOON_WINDOW), len(orders)) if soon else rng.randrange(len(orders))
            order_index, order = orders.pop(pick)
            if roll < DUPLICATE_SHARE + REFUND_SHARE:
                total = Decimal(order["total_price"])
                amount = total if rng.random() < 0.5 else Decimal(order["line_items"][0]["price"])
                data = mix.refund(index, order, amount, when)
                deliveries.append(mix.delivery("refund", "refunds/create", data, index, order_index))
            else:
                data = mix.cancellation(order, when)
                deliveries.append(mix.delivery("cancel", "orders/cancelled", data, index, order_index))
            continue
        if seen and (seen >= customers or rng.random() < REPEAT_SHARE):
            customer = rng.randrange(seen)
        else:
            customer, seen = seen, seen + 1
        prices = [Decimal(rng.randrange(1500, 15000)) / 100 for _ in range(mix.lines)]
        data = mix.order(index, customer, prices, when)
        orders.append((index, data))
        deliveries.append(mix.delivery("order", "orders/paid", data, index, None))
    return deliveries


# --- the easy load (the benchmark's first version) -----------------------------------------------------


def easy_body(n: int) -> bytes:
    customer = 10_000 + n % EASY_CUSTOMERS
    return json.dumps(
        {
            "id": 5_000_000 + n,
            "currency": "USD",
            "financial_status": "paid",
            "processed_at": "2026-11-01T10:00:00+00:00",
            "total_line_items_price": "42.00",
            "total_discounts": "0.00",
            "total_tax": "3.36",
            "total_price": "45.36",
            "shipping_lines": [],
            "discount_codes": [],
            "customer": {
                "id": customer,
                "email": f"c{customer}@example.com",
                "first_name": "Bench",
                "last_name": str(customer),
            },
            "line_items": [
                {"id": 1, "title": "Espresso beans", "sku": "BEANS", "quantity": 1, "price": "30.00", "product_id": 7},
                {"id": 2, "title": "Mug", "sku": "MUG", "quantity": 1, "price": "12.00", "product_id": 8},
            ],
        }
    ).encode()


def easy_load(start: int, requests: int, secret: str = SECRET) -> list[Delivery]:
    """New paid orders ``start`` … ``start + requests - 1`` from the 200 customers (webhook ids as before)."""
    deliveries = []
    for n in range(start, start + requests):
        body = easy_body(n)
        deliveries.append(Delivery("order", "orders/paid", body, sign(body, "orders/paid", f"bench-{n}", secret)))
    return deliveries


def expected_answer(delivery: Delivery, queued: bool) -> str:
    """The ``status`` a server answers: ``duplicate`` for a retry, ``queued`` when stored for later, else ``processed``."""
    if delivery.kind == "duplicate":
        return "duplicate"
    return "queued" if queued else "processed"


def summary(deliveries: list[Delivery]) -> str:
    """One line saying what a load holds (for the benchmark's output and docs)."""
    kinds = {kind: sum(d.kind == kind for d in deliveries) for kind in ("order", "refund", "cancel", "duplicate")}
    customers = len({json.loads(d.body)["customer"]["id"] for d in deliveries if d.kind == "order"})
    sizes = [len(d.body) for d in deliveries if d.kind == "order"]
    return (
        f"{len(deliveries)} deliveries: {kinds['order']} orders from {customers} customers"
        f" ({kinds['order'] - customers} by a customer seen before in the round), {kinds['refund']} refunds,"
        f" {kinds['cancel']} cancellations, {kinds['duplicate']} sent again; order body"
        f" {sum(sizes) // max(1, len(sizes)):,} bytes"
    )
