"""The kit (:mod:`loyalty.testing`) as plugin authors get it, and its signing checked against the stores' own code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import stripe
from standardwebhooks.webhooks import Webhook

from loyalty import testing
from tests.helpers.webhooks import SECRETS, fixture_bytes, standard_headers, stripe_headers

BODY = fixture_bytes("stripe/event.json")


def test_the_kits_fixtures_work_without_the_suites_conftest(tmp_path):
    """Every kit fixture, as a plugin's tests use them: a folder of its own, so the kit's defaults apply."""
    shutil.copy(Path(__file__).parent / "kit" / "kit_checks.py", tmp_path / "kit_checks.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "kit_checks.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout


def test_stripe_signing_is_the_stripe_librarys():
    timestamp = 1767268800
    kit = testing.stripe_headers(BODY, SECRETS["stripe"], timestamp=timestamp)
    assert kit == stripe_headers(BODY, timestamp=timestamp)
    stripe.WebhookSignature.verify_header(BODY, kit["Stripe-Signature"], SECRETS["stripe"], tolerance=None)


def test_standard_webhooks_signing_is_the_reference_librarys():
    timestamp = int(time.time())  # the library checks the timestamp against the machine's clock
    kit = testing.standard_webhooks_headers(BODY, SECRETS["standard_webhooks"], timestamp=timestamp, msg_id="msg_1")
    assert kit == standard_headers(BODY, timestamp, msg_id="msg_1")
    Webhook(SECRETS["standard_webhooks"]).verify(BODY, kit)


def test_shopify_signing_matches_shopifys_vectors():
    vectors = [v for v in json.loads(fixture_bytes("shopify/hmac_vectors.json")) if v["kind"] == "webhook_body"]
    assert vectors
    for vector in vectors:
        body = vector["body"].encode()
        kit = testing.shopify_headers(body, "orders/paid", vector["secret"])
        assert kit["X-Shopify-Hmac-Sha256"] == vector["hmac"]


def test_signed_headers_dispatches_by_store():
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    for store in ("shopify", "woocommerce", "stripe", "standard_webhooks"):
        assert testing.signed_headers(store, BODY, SECRETS[store], now, topic="orders/paid")
