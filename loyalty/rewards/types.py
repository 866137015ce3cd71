"""The reward-type contract plugins implement, and what ``issue`` and ``cancel`` receive.

A reward type (contributed through ``register_reward_types``) turns a
redemption into something the member can use: a discount code, a Stripe
promotion code, a voucher from an outside provider. ``issue`` runs inside
the transaction that spends the points: if it raises
:class:`RewardNotIssued`, the transaction is rolled back (no points spent,
no stock taken) and the redemption is recorded as failed with the reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from marshmallow import Schema, fields, validate

from loyalty import errors

#: Generated codes: no 0/O, 1/I/L or U, like referral codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


class RewardNotIssued(errors.LoyaltyError):
    """The reward could not be issued (a provider refused, timed out, the pool is empty): nothing was spent."""

    code = "reward_not_issued"
    #: The API answers 502: something the platform depends on refused or failed.
    http_status = 502


class RewardConfigSchema(Schema):
    """Settings every reward type has; a type's own schema subclasses this one."""

    expires_days = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=3650),
        metadata={"description": "Days the code stays valid (none: no expiry)."},
    )
    prefix = fields.String(
        load_default="",
        validate=validate.Regexp(r"^[A-Z0-9]{0,10}$", error="up to 10 capital letters or digits"),
        metadata={"description": "Put before generated codes, e.g. LOYAL."},
    )
    use_pool = fields.Boolean(
        load_default=False,
        metadata={"description": "Take codes from the reward's imported pool instead of generating them."},
    )


@dataclass(frozen=True)
class Issued:
    """What ``issue`` returns: the code to give the member, anything to keep, when it expires."""

    code: str | None
    details: dict = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass
class RedemptionRequest:
    """What ``issue`` and ``cancel`` receive.

    ``value`` is the money the reward is worth (a fixed reward's configured
    amount is the type's business; a variable reward's value is the steps
    redeemed), ``key`` a stable idempotency key for calls to a provider,
    ``new_code()`` an unguessable code unique in the program (or the next
    code of the pool when the reward uses one), ``credentials(store)`` the
    API key of a connected store (``"stripe"``), ``details`` what ``issue``
    stored (for ``cancel``).
    """

    redemption_id: int | None
    key: str
    program_slug: str
    currency: str
    reward_name: str
    points: int
    value: Decimal | None
    member_external_id: str
    member_email: str | None
    now: datetime
    new_code: Callable[[], str]
    credentials: Callable[[str], str | None]
    details: dict = field(default_factory=dict)

    def expiry(self, config: dict) -> datetime | None:
        days = config.get("expires_days")
        return self.now + timedelta(days=days) if days else None


class RewardType:
    """Base class for reward types; see the ``register_reward_types`` hook."""

    name: str = ""
    title: str = ""
    description: str = ""
    schema: type[RewardConfigSchema] = RewardConfigSchema
    #: May it be priced in steps (``100 points = 1.00 off``)? Only types whose value is an amount of money.
    variable: bool = False

    def issue(self, redemption: RedemptionRequest, config: dict) -> Issued:
        """Issue the reward; raise :class:`RewardNotIssued` with a reason if it cannot be."""
        raise NotImplementedError

    def cancel(self, redemption: RedemptionRequest, config: dict) -> None:
        """Withdraw what ``issue`` gave (deactivate a code at a provider); raise :class:`RewardNotIssued` if it cannot."""

    def check_pricing(self, config: dict, pricing: str) -> None:
        """Refuse (:class:`~loyalty.errors.InvalidInput`) a config that does not fit ``fixed`` or ``variable`` pricing."""

    def describe(self, config: dict, currency: str) -> str:
        """A short line for catalogs: ``5.00 USD off``."""
        return self.title


def generated_code(prefix: str = "", length: int = 12) -> str:
    """An unguessable code: 30^12 (5e17) possibilities, grouped for reading (``LOYAL-7KQ2-M9XD-3PWA``)."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
    groups = "-".join(body[i : i + 4] for i in range(0, length, 4))
    return f"{prefix}-{groups}" if prefix else groups
