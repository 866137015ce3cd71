"""What checking a delivery's events costs (loyalty.earning.event_checks), on the stores' real payloads.

For each published payload the suite uses (Shopify's ~7 KB order with its
lines, discounts and addresses, its refund and customer; WooCommerce's
order with refunds; a Stripe charge), in one run: the time the adapter
takes to parse the delivery (the baseline: what the intake did before),
and the time of the intake's reading now (``webhooks.reading.events_of``:
the parse, its guards, and every event checked to fit). Median of 7 rounds
of N deliveries each. Usage::

    .venv/bin/python bench/event_checks.py [--deliveries 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.plugins.storefronts.shopify import Shopify  # noqa: E402
from loyalty.plugins.storefronts.stripe_payments import Stripe  # noqa: E402
from loyalty.plugins.storefronts.woocommerce import WooCommerce  # noqa: E402
from loyalty.storefronts.adapters import WebhookRequest  # noqa: E402
from loyalty.webhooks.reading import events_of  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _stripe_charge() -> bytes:
    charge = {
        **json.loads((FIXTURES / "stripe/charge.json").read_text()),
        "amount": 4200,
        "amount_captured": 4200,
        "captured": True,
        "paid": True,
        "currency": "usd",
        "customer": "cus_7",
    }
    envelope = json.loads((FIXTURES / "stripe/event.json").read_text())
    envelope.update({"type": "charge.succeeded", "data": {"object": charge}})
    return json.dumps(envelope).encode()


CASES = [
    (
        "Shopify orders/paid (order.json)",
        Shopify(),
        {"X-Shopify-Topic": "orders/paid"},
        (FIXTURES / "shopify/order.json").read_bytes(),
    ),
    (
        "Shopify refunds/create (refund.json)",
        Shopify(),
        {"X-Shopify-Topic": "refunds/create"},
        (FIXTURES / "shopify/refund.json").read_bytes(),
    ),
    (
        "Shopify customers/create",
        Shopify(),
        {"X-Shopify-Topic": "customers/create"},
        (FIXTURES / "shopify/customer.json").read_bytes(),
    ),
    (
        "WooCommerce order.updated with refunds",
        WooCommerce(),
        {"X-WC-Webhook-Topic": "order.updated"},
        (FIXTURES / "woocommerce/order_with_refunds.json").read_bytes(),
    ),
    ("Stripe charge.succeeded", Stripe(), {}, _stripe_charge()),
]


def _time(function, requests, rounds: int = 7) -> float:
    """Median µs per delivery."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for request in requests:
            function(request)
        times.append((time.perf_counter() - start) / len(requests) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()
    print("| payload | bytes | parse alone (µs) | parse + checks (µs) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for title, adapter, headers, body in CASES:
        requests = [WebhookRequest(headers, body, NOW) for _ in range(args.deliveries)]
        assert events_of(adapter, requests[0]), title  # each payload yields events
        bare = _time(adapter.parse, requests)
        checked = _time(lambda request: events_of(adapter, request), requests)
        print(f"| {title} | {len(body):,} | {bare:.1f} | {checked:.1f} | {checked / bare:.2f} |")


if __name__ == "__main__":
    main()
