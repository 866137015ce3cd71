"""The bare baselines for ``bench/webhooks.py``: the least a webhook endpoint can do.

``app``, the bare receiver: verify the Shopify HMAC, insert the raw body into
an inbox that drops a repeated delivery id as the platform's does (a unique
key and ``ON CONFLICT DO NOTHING``), then for a new delivery insert one
transfer and update the customer's balance row, commit; answer 200.

``inbox_only``: verify the HMAC and insert into the inbox with the same
dedupe, nothing else: what a queued intake must at least do before it
acknowledges, so the platform's queued acknowledgements are compared to it.

Served by gunicorn exactly like the platform (same workers, same database
settings), so the figures differ only by what the platform does on top.
Customers (or, for a refund, orders) map onto ``BENCH_ACCOUNTS`` balance rows.
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
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200"))
engine = create_engine(normalize_url(os.environ["BENCH_DATABASE_URL"]))
configure_engine(engine)

INSERT_BODY = "INSERT INTO {table} (delivery_id, body) VALUES (:d, :b) ON CONFLICT (delivery_id) DO NOTHING"
INSERT_TRANSFER = text(
    "INSERT INTO bench_transfers (account_id, amount, idempotency_key, created_at)"
    " VALUES (:a, :n, :k, CURRENT_TIMESTAMP)"
)
BUMP = text("UPDATE bench_balances SET balance = balance + :n WHERE id = :a")


def _answer(start_response, status: str, body: bytes):
    start_response(status, [("Content-Type", "application/json")])
    return [body]


def _receiver(table: str, post: bool):
    insert = text(INSERT_BODY.format(table=table))

    def receive(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        given = environ.get("HTTP_X_SHOPIFY_HMAC_SHA256", "")
        expected = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, given):
            return _answer(start_response, "401 Unauthorized", b'{"status": "error"}')
        data = json.loads(body) if post else None
        with engine.begin() as conn:
            fresh = conn.execute(insert, {"d": environ.get("HTTP_X_SHOPIFY_WEBHOOK_ID"), "b": body}).rowcount
            if fresh and post:
                owner = (data.get("customer") or {}).get("id") or data.get("order_id") or data["id"]
                account = int(owner) % ACCOUNTS
                conn.execute(INSERT_TRANSFER, {"a": account, "n": 1, "k": f"delivery:{data['id']}"})
                conn.execute(BUMP, {"a": account, "n": 1})
        if not fresh:
            return _answer(start_response, "200 OK", b'{"status": "duplicate"}')
        return _answer(start_response, "200 OK", b'{"status": "processed"}' if post else b'{"status": "queued"}')

    return receive


app = _receiver("bench_inbox", post=True)
inbox_only = _receiver("bench_inbox_only", post=False)
