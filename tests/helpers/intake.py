"""The webhook intake tests' fixtures: a program connected to every built-in store, and a client to post with.

``shop`` (program ``acme`` earning 1 point per unit, connected to each
built-in storefront with its secret from :data:`tests.helpers.webhooks.SECRETS`),
``client`` (a test client); :func:`post` sends one delivery;
:data:`SHOPIFY_ORDER` is the paid order the Shopify tests send, by member
:data:`SHOPIFY_MEMBER`.
"""

from __future__ import annotations

import pytest

from loyalty.storefronts.connections import add_storefront
from tests.helpers.webhooks import SECRETS, fixture

SHOPIFY_ORDER = fixture("shopify/order_discount_code_paid.json")
SHOPIFY_MEMBER = str(SHOPIFY_ORDER["customer"]["id"])


@pytest.fixture
def shop(session, program, registry, clock, add_rule):
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
    for kind, secret in SECRETS.items():
        add_storefront(session, program, registry, type=kind, secret=secret, clock=clock)
    session.commit()
    return program


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, storefront, body: bytes, headers: dict, program="acme"):
    """``POST /webhooks/<program>/<storefront>`` with ``body`` and ``headers``."""
    return client.post(f"/webhooks/{program}/{storefront}", data=body, headers=headers)
