"""Every hook a plugin can implement.

A plugin is a module (or object) with functions decorated by
``@hookimpl``, imported with ``from loyalty.plugin_api import hookimpl``
(every contract a plugin implements is there, :mod:`loyalty.plugin_api`). The
platform finds third-party plugins through the ``loyalty`` entry-point
group and registers its own built-ins (the ``loyalty.plugins`` package)
the same way.

There are two families:

* **Registration hooks** (``register_*``) are called once, when the
  application starts. Each receives a ``register`` callback; call it once
  per type you contribute. Types are *kinds* of things (an earning rule
  type, a reward type…); program managers then configure *instances* of
  them, whose JSON config the type's marshmallow ``schema`` validates.
  The platform checks what you register and refuses a malformed type at
  start, naming your plugin.
* **Lifecycle notifications** are called after something happened, inside
  the transaction that did it, with keyword arguments. Their return value
  is ignored. Raising an exception aborts (and rolls back) the whole
  operation, so a notification that talks to the outside world should
  queue its work rather than fail the posting.

``docs/plugins.md`` documents each hook with a worked example; a test
keeps that page in step with this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # only for the annotations: the hooks' arguments come from every layer
    from loyalty.earning.rule_types import EarningRuleType
    from loyalty.ledger import Receipt
    from loyalty.messages.channels import NotificationChannel
    from loyalty.models import Member, Program, Redemption, Referral, Tier
    from loyalty.referrals.checks import ReferralCheck
    from loyalty.rewards.types import RewardType
    from loyalty.storefronts.adapters import StorefrontAdapter
    from loyalty.tiers.schemes import TierScheme

hookspec = pluggy.HookspecMarker("loyalty")
hookimpl = pluggy.HookimplMarker("loyalty")


# --- registration ----------------------------------------------------------


@hookspec
def register_earning_rule_types(register: Callable[[EarningRuleType], None]) -> None:
    """Contribute earning rule types.

    Called once at start. Call ``register(rule_type)`` for each type, where
    ``rule_type`` is an :class:`loyalty.earning.rule_types.EarningRuleType`: a unique
    ``name``, a ``title``, the ``events`` it applies to, a marshmallow
    ``schema`` for its config, ``evaluate(context, config)`` returning
    the points to award (a list of :class:`loyalty.earning.rule_types.Award`, possibly
    empty), and ``describe(config, currency)`` returning what a rule of the
    type earns in a shopper's words ("50 points when you sign up"; the
    default is the ``title``; the program's currency is passed because a
    rate names the money).

    :param register: callable taking one rule type.
    """


@hookspec
def register_tier_schemes(register: Callable[[TierScheme], None]) -> None:
    """Contribute tier schemes (how members qualify for tiers).

    Called once at start. Call ``register(scheme)`` for each scheme, a
    :class:`loyalty.tiers.schemes.TierScheme`: a unique ``name``, a
    ``title``, the ``metric`` it counts (``points``, ``amount``,
    ``orders``), a marshmallow ``schema`` for its settings (a
    :class:`~loyalty.tiers.schemes.TierSchemeSchema`, which brings the
    downgrade policy), and ``qualifying_values(program, settings, now,
    member_ids=None)``: one SQLAlchemy Core select of ``(member_id,
    value)`` for every member of the program, or only ``member_ids``. Thresholds, downgrades and manual floors are applied
    by the platform, the same for every scheme.

    :param register: callable taking one tier scheme.
    """


@hookspec
def register_reward_types(register: Callable[[RewardType], None]) -> None:
    """Contribute reward types for the catalog.

    Called once at start. Call ``register(reward_type)`` for each, a
    :class:`loyalty.rewards.RewardType`: a unique ``name``, a ``title``, a
    marshmallow ``schema`` for its config (a
    :class:`~loyalty.rewards.RewardConfigSchema`, which brings
    ``expires_days``, ``prefix`` and ``use_pool``), ``variable`` (whether it
    may be priced in steps of money), and:

    * ``issue(redemption, config)``: given a
      :class:`loyalty.rewards.RedemptionRequest` (member, points, value,
      ``new_code()``, ``credentials(store)``, a stable ``key`` for the
      provider), return an :class:`loyalty.rewards.Issued` (the code, details
      to keep, an expiry) or raise :class:`loyalty.rewards.RewardNotIssued`
      with a reason: then no points are spent and the redemption is failed;
    * ``cancel(redemption, config)``: withdraw what ``issue`` gave (raise
      ``RewardNotIssued`` if it cannot: the redemption stays issued).

    :param register: callable taking one reward type.
    """


@hookspec
def register_storefronts(register: Callable[[StorefrontAdapter], None]) -> None:
    """Contribute storefront adapters (Shopify, WooCommerce, …).

    Called once at start. Call ``register(adapter)`` for each: a
    :class:`loyalty.storefronts.adapters.StorefrontAdapter` with a unique ``name``
    (the last part of ``POST /webhooks/<program>/<name>``), a ``title``,
    ``stored_headers`` (the lower-case headers ``topic`` and ``parse`` need
    when the inbox replays a delivery), and, each taking a
    :class:`loyalty.storefronts.adapters.WebhookRequest`:

    * ``verify(request, secret)``: raise
      :class:`loyalty.errors.SignatureInvalid` unless signed with ``secret``
      (compare in constant time);
    * ``is_ping(request)``: true for an unsigned test request to answer 200;
    * ``delivery_id(request)``: the store's unique id for the delivery;
    * ``topic(request)``: what the delivery is about;
    * ``parse(request)``: the normalized events (:mod:`loyalty.earning.pipeline`), or
      ``[]`` for a topic the platform does not use; raise
      :class:`loyalty.errors.MalformedWebhook` for a payload it cannot read.

    :param register: callable taking one storefront adapter.
    """


@hookspec
def register_referral_checks(register: Callable[[ReferralCheck], None]) -> None:
    """Contribute referral fraud checks.

    Called once at start. Call ``register(check)`` for each, a
    :class:`loyalty.referrals.ReferralCheck`: a unique ``name``, a
    ``title``, a marshmallow ``schema`` for its settings (a
    :class:`~loyalty.referrals.ReferralCheckSchema`, which brings
    ``enabled`` and ``action``), a ``default_action`` (``"reject"`` or
    ``"flag"``), and ``check(referral, settings)``: given a
    :class:`loyalty.referrals.ReferralCase` (referrer, friend, the order
    once there is one, and queries such as ``referrals_from_ip(since)``),
    return a reason (a string) to stop the referral, or ``None``. The
    program's ``action`` for the check decides whether the reason rejects
    the referral or flags it for a person. Called when a referral is
    attributed (``referral.order`` is ``None``) and when the friend's order
    comes.

    :param register: callable taking one referral check.
    """


@hookspec
def register_notification_channels(register: Callable[[NotificationChannel], None]) -> None:
    """Contribute notification channels: ways to carry the platform's events somewhere.

    Called once at start. Call ``register(channel)`` for each, where
    ``channel`` is a :class:`loyalty.messages.channels.NotificationChannel`:
    a unique ``name``, a ``title``, a marshmallow ``schema`` for one
    destination's config, an ``audience`` (``"program"``: the store's
    systems; ``"member"``: each event's member), optional ``templates`` and
    ``digests``, and ``send(message) -> Outcome``. The platform stores the
    destinations program managers configure, fans each event out to them,
    claims, retries and dead-letters; ``send`` is called outside any
    transaction, in a sender's thread, and only sends. The built-in
    ``webhook`` and ``email`` channels are registered this way.

    :param register: callable taking one notification channel.
    """


# --- lifecycle notifications -----------------------------------------------


@hookspec
def member_enrolled(program: Program, member: Member) -> None:
    """A member was enrolled (by the CLI, the API or a storefront event).

    :param program: the :class:`loyalty.models.Program`.
    :param member: the new :class:`loyalty.models.Member`.
    """


@hookspec
def points_posted(program: Program, member: Member, posting: Receipt, cause: dict[str, Any]) -> None:
    """Points were posted to a member's account by the earning pipeline.

    Called once per new ledger entry, not for replays.

    :param program: the :class:`loyalty.models.Program`.
    :param member: the :class:`loyalty.models.Member`.
    :param posting: the :class:`loyalty.ledger.Receipt` (entry id, kind,
        amount, transfers).
    :param cause: what caused it, e.g. ``{"type": "order", "order_id":
        "1001", "rule": "Base rate"}``.
    """


@hookspec
def tier_changed(program: Program, member: Member, old_tier: Tier | None, new_tier: Tier | None, reason: str) -> None:
    """A member moved to another tier: at an event, a recalculation, or by hand.

    Called once per change, inside the transaction that moved the member
    (an error rolls the change back), after the tier history row is written.

    :param old_tier: the previous :class:`loyalty.models.Tier`, or ``None``.
    :param new_tier: the new tier, or ``None`` when the member left all tiers.
    :param reason: ``"upgrade"``, ``"downgrade"`` or ``"manual"``.
    """


@hookspec
def reward_redeemed(program: Program, member: Member, redemption: Redemption) -> None:
    """A member redeemed a reward (or was given one): it is issued, its points spent.

    Called once per redemption, inside its transaction, after the reward
    type issued it; not for a failed one, nor for a repeated request.

    :param redemption: the :class:`loyalty.models.Redemption` (``code``,
        ``points``, ``value``, ``details``, ``expires_at``).
    """


@hookspec
def referral_converted(program: Program, referral: Referral) -> None:
    """A referred friend's qualifying order converted a referral; its review period starts.

    Called once per referral, inside the transaction that converted it.
    The points follow when the review period ends (at once if it is zero
    days), as ``points_posted`` notifications with cause ``{"type":
    "referral", ...}``.

    :param referral: the :class:`loyalty.models.Referral` (``review_until``,
        ``referrer_points``, ``friend_points``, ``order_id``).
    """
