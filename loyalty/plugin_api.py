"""The public plugin API: everything a plugin author imports, from one place.

A plugin imports from here and nowhere else in ``loyalty`` (nor from
another plugin), so that the core can move its modules without breaking
plugins: what is listed in ``__all__`` is the contract, and only it.
The built-in plugins (``plugins/``) follow the same rule, and every
example in ``docs/examples/`` does too. This module only re-exports; the
names live (and are documented) where they are defined.
``docs/plugins.md`` explains each kind with a worked example; the pytest
kit for testing plugins is :mod:`loyalty.testing`.

Every plugin
    :data:`hookimpl` (decorate your hook functions), :mod:`errors <loyalty.errors>`
    (the platform's exceptions; :class:`InvalidInput`, :class:`SignatureInvalid`,
    :class:`MalformedWebhook` are the ones plugins raise), :mod:`money <loyalty.money>`
    (Decimal amounts and minor units: ``exponent``, ``to_decimal``, ``to_minor``,
    ``from_minor``, ``stripe_exponent``); text people read (:mod:`loyalty.wording`):
    :func:`plain_number` (``"1.5"``, never ``"1.5000"``), :func:`points_text`
    (``"1 point"``, ``"20 points"``), :func:`money_text` (``"USD 50"``, ``"USD 12.50"``),
    :func:`multiplier_text` (``"Double points"``, ``"1.5x points"``).

Earning rule types (``register_earning_rule_types``)
    :class:`EarningRuleType`, :class:`RuleConfigSchema`, :func:`base_rate_field`,
    :class:`Award`; what ``evaluate`` sees: :class:`EarningContext`,
    :class:`OrderView`, :class:`LineView`, :class:`MemberView`; :data:`EVENT_KINDS`.
    ``describe(config, currency)`` words a rule for shoppers ("50 points when
    you sign up"), with the text helpers above.

Tier schemes (``register_tier_schemes``)
    :class:`TierScheme`, :class:`TierSchemeSchema`, :class:`WindowedSchema`,
    :class:`Window`, :func:`window_of`, :func:`per_member`; the models a
    scheme's query counts over: :class:`Member`, :class:`Order`, :class:`Entry`;
    for :meth:`TierScheme.member_value`, the prebuilt statements of one member's
    points earned (less claw-backs), ever or since ``start``:
    :data:`MEMBER_EARNED`, :data:`MEMBER_EARNED_SINCE`.

Reward types (``register_reward_types``)
    :class:`RewardType`, :class:`RewardConfigSchema`, :class:`RedemptionRequest`,
    :class:`Issued`, :class:`RewardNotIssued`.

Storefront adapters (``register_storefronts``)
    :class:`StorefrontAdapter`, :class:`WebhookRequest`; readers of untrusted
    JSON values that raise :class:`MalformedWebhook`: :func:`id_of`,
    :func:`money_of`, :func:`count_of`; signature helpers: :func:`hmac_sha256`,
    :func:`same` (constant time), :func:`check_timestamp` (replay window).

Referral checks (``register_referral_checks``)
    :class:`ReferralCheck`, :class:`ReferralCheckSchema`; what ``check`` sees:
    :class:`ReferralCase`, :class:`Person`, :class:`OrderFacts`.

Notification channels (``register_notification_channels``)
    :class:`NotificationChannel`, :class:`ChannelConfigSchema`, :class:`Template`;
    what ``send`` gets and returns: :class:`Message`, :class:`Outcome`;
    :data:`EVENT_TYPES` (the outbox's event types, the contract of ``docs/events.md``);
    the SSRF guard for a channel that calls URLs it is given: :func:`check_public_url`
    (raises :class:`InvalidInput`; returns the :class:`Target` to connect to),
    :func:`allow_private` (whether ``LOYALTY_OUTBOUND_ALLOW_PRIVATE`` is set).

Events (what an adapter's ``parse`` returns)
    :class:`OrderPaid`, :class:`OrderRefunded`, :class:`OrderCancelled`,
    :class:`CustomerCreated`, :class:`CustomEvent`, :class:`Birthday`, and their
    parts :class:`Customer`, :class:`Line`, :class:`Address`,
    :class:`ReferralMark`, :func:`referral_mark`; :data:`Event` (their union).
    :func:`load_event` builds one from the JSON the API and ``loyalty events
    push`` take (``{"type": "order_paid", ...}``, amounts as strings), raising
    :class:`InvalidInput` with field messages: an adapter whose store already
    sends that shape (Standard Webhooks) needs nothing else.
"""

from __future__ import annotations

from loyalty import errors, money
from loyalty.earning.event_schemas import load_event
from loyalty.earning.events import (
    Address,
    Birthday,
    Customer,
    CustomerCreated,
    CustomEvent,
    Event,
    Line,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
    ReferralMark,
    referral_mark,
)
from loyalty.earning.rule_types import (
    Award,
    EarningContext,
    EarningRuleType,
    LineView,
    MemberView,
    OrderView,
    RuleConfigSchema,
    base_rate_field,
)
from loyalty.errors import (
    InvalidInput,
    LoyaltyError,
    MalformedWebhook,
    SignatureInvalid,
)
from loyalty.hookspecs import hookimpl
from loyalty.ledger.statements import MEMBER_EARNED, MEMBER_EARNED_SINCE
from loyalty.messages.addresses import Target, allow_private, check_public_url
from loyalty.messages.catalog import EVENT_TYPES
from loyalty.messages.channels import ChannelConfigSchema, Message, NotificationChannel, Outcome, Template
from loyalty.models import Entry, Member, Order
from loyalty.plugin_contracts import EVENT_KINDS
from loyalty.referrals.checks import (
    OrderFacts,
    Person,
    ReferralCase,
    ReferralCheck,
    ReferralCheckSchema,
)
from loyalty.rewards.types import (
    Issued,
    RedemptionRequest,
    RewardConfigSchema,
    RewardNotIssued,
    RewardType,
)
from loyalty.storefronts.adapters import (
    StorefrontAdapter,
    WebhookRequest,
    check_timestamp,
    count_of,
    hmac_sha256,
    id_of,
    money_of,
    same,
)
from loyalty.tiers.schemes import (
    TierScheme,
    TierSchemeSchema,
    Window,
    WindowedSchema,
    per_member,
    window_of,
)
from loyalty.wording import money_text, multiplier_text, plain_number, points_text

__all__ = [
    # every plugin
    "hookimpl",
    "errors",
    "money",
    "LoyaltyError",
    "InvalidInput",
    "MalformedWebhook",
    "SignatureInvalid",
    "money_text",
    "multiplier_text",
    "plain_number",
    "points_text",
    # earning rule types
    "EVENT_KINDS",
    "Award",
    "EarningContext",
    "EarningRuleType",
    "LineView",
    "MemberView",
    "OrderView",
    "RuleConfigSchema",
    "base_rate_field",
    # tier schemes
    "TierScheme",
    "TierSchemeSchema",
    "Window",
    "WindowedSchema",
    "per_member",
    "window_of",
    "MEMBER_EARNED",
    "MEMBER_EARNED_SINCE",
    "Entry",
    "Member",
    "Order",
    # reward types
    "Issued",
    "RedemptionRequest",
    "RewardConfigSchema",
    "RewardNotIssued",
    "RewardType",
    # storefront adapters
    "StorefrontAdapter",
    "WebhookRequest",
    "check_timestamp",
    "count_of",
    "hmac_sha256",
    "id_of",
    "money_of",
    "same",
    # referral checks
    "OrderFacts",
    "Person",
    "ReferralCase",
    "ReferralCheck",
    "ReferralCheckSchema",
    # events
    "Address",
    "Birthday",
    "Customer",
    "CustomerCreated",
    "CustomEvent",
    "Event",
    "Line",
    "OrderCancelled",
    "OrderPaid",
    "OrderRefunded",
    "ReferralMark",
    "load_event",
    "referral_mark",
    # notification channels
    "EVENT_TYPES",
    "ChannelConfigSchema",
    "Message",
    "NotificationChannel",
    "Outcome",
    "Target",
    "Template",
    "allow_private",
    "check_public_url",
]
