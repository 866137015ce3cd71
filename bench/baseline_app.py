"""The bare baseline for ``bench/webhooks.py``: the least a webhook endpoint can do.

Verify the Shopify HMAC, insert the raw body, insert one transfer row and
update one balance, commit; answer 200. Served by gunicorn exactly like the
platform (same workers, same database settings), so the two figures differ
only by what the platform does on top.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from sqlalchemy import create_engine, text

from loyalty.config import normalize_url
from loyalty.db import configure_engine

SECRET = os.environ["BENCH_SECRET"].encode()
engine = create_engine(normalize_url(os.environ["BENCH_DATABASE_URL"]))
configure_engine(engine)

INSERT_BODY = text("INSERT INTO bench_inbox (delivery_id, body) VALUES (:d, :b)")
INSERT_TRANSFER = text(
    "INSERT INTO bench_transfers (account_id, amount, idempotency_key, created_at)"
    " VALUES (:a, :n, :k, CURRENT_TIMESTAMP)"
)
BUMP = text("UPDATE bench_balances SET balance = balance + :n WHERE id = :a")


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    given = environ.get("HTTP_X_SHOPIFY_HMAC_SHA256", "")
    expected = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, given):
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"status": "error"}']
    order = json.loads(body)
    account = int(order["customer"]["id"]) % 200
    with engine.begin() as conn:
        conn.execute(INSERT_BODY, {"d": environ.get("HTTP_X_SHOPIFY_WEBHOOK_ID"), "b": body})
        conn.execute(INSERT_TRANSFER, {"a": account, "n": 1, "k": f"order:{order['id']}"})
        conn.execute(BUMP, {"a": account, "n": 1})
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "processed"}']
