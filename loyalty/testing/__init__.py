"""pytest fixtures for plugin authors (and the platform's own tests): a kit for every plugin kind.

Installed with the platform and loaded by pytest automatically (the
``pytest11`` entry point ``loyalty = "loyalty.testing"``). Each test gets a
fresh SQLite database built by the migrations, a frozen clock and your
plugins, and ends with ``loyalty verify``: a plugin that breaks a ledger
invariant fails its tests. Tell the fixtures about your plugin by
overriding one fixture::

    @pytest.fixture
    def loyalty_plugins():
        return [my_plugin_module]

Every fixture that writes commits, as the platform's own commands do, and
takes ``program=`` for another program than the test one.
``docs/plugins.md`` shows each in use; ``docs/examples/`` has a tested
plugin of every kind written with them.

The base (:mod:`loyalty.testing.app`)
    ``loyalty_plugins`` (override it), ``loyalty_clock`` (frozen at
    :data:`START`, 2026-01-01 12:00 UTC; ``advance(timedelta)``),
    ``loyalty_app`` (inside an app context), ``loyalty_session``,
    ``loyalty_registry`` (the plugin registry), ``loyalty_program`` (``test``,
    USD), ``loyalty_enrol("c-2", email=...)`` (a member), ``loyalty_member``
    (``c-1``), ``loyalty_balance("c-1")`` (a member's available points). :class:`StoreClient` is the app's test client class.

Earning rules and events (:mod:`loyalty.testing.earning`)
    ``loyalty_add_rule(type, config)`` (a configured rule),
    ``loyalty_push(event)`` (one event through the pipeline → its outcome);
    :func:`order_paid` builds a paid order with sensible defaults.

Tiers and tier schemes (:mod:`loyalty.testing.tiers`)
    ``loyalty_add_tier(name, threshold=..., earn_multiplier=...)``,
    ``loyalty_set_scheme(name, settings)``, ``loyalty_recalculate()``
    (the nightly recalculation, now → its counts).

Rewards and redemptions (:mod:`loyalty.testing.rewards`)
    ``loyalty_award(member, points)`` (points available at once),
    ``loyalty_add_reward(type, points=..., config=...)``,
    ``loyalty_redeem(member, reward, fund=True)`` (→ the redemption,
    ``issued`` or ``failed``).

Storefronts (:mod:`loyalty.testing.stores`)
    ``loyalty_connect_store(type, secret=...)`` (a connection, with
    :data:`STORE_SECRETS` by default), ``loyalty_deliver(store, body,
    topic=...)`` (a delivery signed as the store signs it, posted to
    ``/webhooks/<program>/<store>`` → the response; ``sign=`` for a
    plugin's own adapter); :func:`signed_headers` and one function per
    built-in store (:func:`shopify_headers`, :func:`woocommerce_headers`,
    :func:`stripe_headers`, :func:`standard_webhooks_headers`).

Referrals and referral checks (:mod:`loyalty.testing.referrals`)
    ``loyalty_referral_terms(**changes)`` (the program's terms, ``checks=``
    a check's settings), ``loyalty_refer(referrer, friend_id)`` (a friend
    attributed, the checks run → the referral: ``status``, ``reason``).

Notification channels (:mod:`loyalty.testing.messages`)
    ``loyalty_add_destination(channel, config, events="all")`` (a
    destination, validated as the CLI does), ``loyalty_record_event(type,
    member, **data)`` (an event in the outbox), ``loyalty_send_messages()``
    (what is due, sent now → the counts), ``loyalty_deliveries(status=None)``.

The HTTP API (:mod:`loyalty.testing.api`)
    ``loyalty_api_key`` (a read+write key's secret), ``loyalty_api`` (a
    test client sending it as ``Authorization: Bearer``).
"""

from __future__ import annotations

from loyalty.testing.api import loyalty_api, loyalty_api_key
from loyalty.testing.app import (
    START,
    StoreClient,
    loyalty_app,
    loyalty_balance,
    loyalty_clock,
    loyalty_enrol,
    loyalty_member,
    loyalty_plugins,
    loyalty_program,
    loyalty_registry,
    loyalty_session,
)
from loyalty.testing.earning import loyalty_add_rule, loyalty_push, order_paid
from loyalty.testing.messages import (
    loyalty_add_destination,
    loyalty_deliveries,
    loyalty_record_event,
    loyalty_send_messages,
)
from loyalty.testing.referrals import loyalty_refer, loyalty_referral_terms
from loyalty.testing.rewards import loyalty_add_reward, loyalty_award, loyalty_redeem
from loyalty.testing.stores import (
    STORE_SECRETS,
    loyalty_connect_store,
    loyalty_deliver,
    shopify_headers,
    signed_headers,
    standard_webhooks_headers,
    stripe_headers,
    woocommerce_headers,
)
from loyalty.testing.tiers import loyalty_add_tier, loyalty_recalculate, loyalty_set_scheme

__all__ = [
    "START",
    "STORE_SECRETS",
    "StoreClient",
    "loyalty_add_destination",
    "loyalty_add_reward",
    "loyalty_add_rule",
    "loyalty_add_tier",
    "loyalty_api",
    "loyalty_api_key",
    "loyalty_app",
    "loyalty_award",
    "loyalty_balance",
    "loyalty_clock",
    "loyalty_connect_store",
    "loyalty_deliver",
    "loyalty_deliveries",
    "loyalty_enrol",
    "loyalty_member",
    "loyalty_plugins",
    "loyalty_program",
    "loyalty_push",
    "loyalty_record_event",
    "loyalty_recalculate",
    "loyalty_redeem",
    "loyalty_refer",
    "loyalty_referral_terms",
    "loyalty_registry",
    "loyalty_send_messages",
    "loyalty_session",
    "loyalty_set_scheme",
    "order_paid",
    "shopify_headers",
    "signed_headers",
    "standard_webhooks_headers",
    "stripe_headers",
    "woocommerce_headers",
]
