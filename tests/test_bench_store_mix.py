"""The webhook benchmark's loads are honest: every delivery is well formed, signed, and ends as a store expects.

``bench/webhooks.py`` times what the platform does with ``bench/store_mix.py``'s
deliveries; if the platform refused them, ignored them or deferred them, the
figures would measure the wrong thing. So the same deliveries (a smaller
run of the same mix) go through Flask's test client to a program set up by
the same ``loyalty`` commands, processed in the request and queued, and
every answer, every stored delivery's status and the ledger's invariants
are checked. No timing here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty.db import db
from loyalty.invariants import verify
from loyalty.models import Member, Order, Referral, WebhookDelivery
from loyalty.registry import current_registry
from loyalty.testing import START
from loyalty.webhooks import inbox

_spec = importlib.util.spec_from_file_location(
    "store_mix", Path(__file__).resolve().parent.parent / "bench" / "store_mix.py"
)
store_mix = importlib.util.module_from_spec(_spec)
sys.modules["store_mix"] = store_mix  # a dataclass finds its module there
_spec.loader.exec_module(store_mix)


def _set_up(runner, scenario: str) -> None:
    for command in store_mix.program_commands(scenario):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output)


def _post_all(app, deliveries, queued: bool) -> list[str]:
    """Each delivery posted in order (so each comes after the answer it waits for); the answers' statuses."""
    app.config["WEBHOOK_PROCESSING"] = "queued" if queued else "inline"
    client = app.test_client()
    answers = []
    for index, delivery in enumerate(deliveries):
        assert delivery.after is None or delivery.after < index
        response = client.post(store_mix.path(), data=delivery.body, headers=delivery.headers)
        assert response.status_code in (200, 202), (index, delivery.kind, response.get_json())
        answers.append(response.get_json()["status"])
    if queued:
        while inbox.process_batch(db.session, registry=current_registry(), limit=100):
            pass
    return answers


def test_the_store_mix_holds_what_it_says():
    deliveries = store_mix.store_mix(600, 400, seed=3, namespace=0, start=START)
    kinds = [d.kind for d in deliveries]
    orders = [json.loads(d.body) for d in deliveries if d.kind == "order"]
    customers = [o["customer"]["id"] for o in orders]
    assert 0.7 < kinds.count("order") / len(kinds) < 0.85
    assert 0.07 < kinds.count("refund") / len(kinds) < 0.13
    assert 0.07 < kinds.count("cancel") / len(kinds) < 0.13
    assert 0 < kinds.count("duplicate") < 0.05 * len(kinds)
    assert 0.08 < 1 - len(set(customers)) / len(customers) < 0.25  # repeat customers' orders
    for delivery in deliveries:
        if delivery.after is not None:  # after its order (or, retried, after its first sending), never before
            assert deliveries[delivery.after].kind != "duplicate"
            if delivery.kind == "duplicate":
                assert deliveries[delivery.after].body == delivery.body
            else:
                assert json.loads(deliveries[delivery.after].body)["id"] in (
                    json.loads(delivery.body).get("order_id"),
                    json.loads(delivery.body)["id"],
                )
    # The fixture's payload, changed only where the mix says, with totals that add up.
    fixture = json.loads((store_mix.FIXTURES / "order.json").read_text())
    order = orders[0]
    assert set(order) == set(fixture)
    assert order["shipping_address"] == fixture["shipping_address"]
    assert len(deliveries[0].body) > 15_000
    lines = sum(float(line["price"]) * line["quantity"] for line in order["line_items"])
    assert float(order["total_line_items_price"]) == pytest.approx(lines)
    assert float(order["total_price"]) == pytest.approx(
        lines - float(order["total_discounts"]) + float(order["total_tax"])
    )
    # Deterministic from the seed.
    assert [d.body for d in store_mix.store_mix(100, 80, seed=3, namespace=0, start=START)] == [
        d.body for d in deliveries[:100]
    ]


@pytest.mark.parametrize("queued", [False, True], ids=["inline", "queued"])
def test_the_store_mix_is_processed_as_a_store_expects(app, runner, queued):
    _set_up(runner, "store")
    deliveries = store_mix.store_mix(200, 150, seed=11, namespace=0, start=START)

    answers = _post_all(app, deliveries, queued)

    assert answers == [store_mix.expected_answer(d, queued) for d in deliveries]
    stored = [d for d in deliveries if d.stored]
    statuses = db.session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    assert dict(statuses) == {"processed": len(stored)}
    bodies = [json.loads(d.body) for d in deliveries]
    customers = {b["customer"]["id"] for b, d in zip(bodies, deliveries, strict=True) if d.kind == "order"}
    assert db.session.scalar(select(func.count()).select_from(Member)) == len(customers)
    order_status = dict(db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    kinds = [d.kind for d in deliveries]
    assert sum(order_status.values()) == kinds.count("order")
    assert order_status.get("cancelled") == kinds.count("cancel")
    assert order_status.get("paid", 0) + order_status.get("cancelled") < kinds.count("order")  # refunds were taken
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0
    assert verify(db.session) == []


def test_the_easy_load_is_processed_as_before(app, runner):
    _set_up(runner, "easy")
    deliveries = store_mix.easy_load(0, 30)

    answers = _post_all(app, deliveries, queued=False)

    assert answers == ["processed"] * 30
    assert db.session.scalar(select(func.count()).select_from(Member)) == 30
    assert verify(db.session) == []
