"""Referral fraud checks: the contract plugins implement, what they see, and running them.

A check (contributed through ``register_referral_checks``) looks at one
referral — the referrer, the friend, the qualifying order if there is one
yet — and returns a reason to stop it, or ``None``. The program decides
per check whether that reason *rejects* the referral or *flags* it for a
person to approve or reject (``action``; the check's ``default_action``
otherwise), and can switch a check off (``enabled: false``). Every
installed check runs unless switched off, with its schema's defaults.

Checks run when a referral is attributed (no order yet: a check that needs
the order returns ``None`` then) and again when the friend's order comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.models import Member, Order, Program, Referral
from loyalty.referrals.terms import Terms

ACTIONS = ("reject", "flag")


class ReferralCheckSchema(Schema):
    """Settings every check has; a check's own schema subclasses this one."""

    enabled = fields.Boolean(load_default=True, metadata={"description": "Run this check for the program."})
    action = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(ACTIONS),
        metadata={
            "label": "When the check finds a reason",
            "labels": {"reject": "Reject the referral", "flag": "Flag it for review"},
            "description": "Leave empty for the check's own default.",
        },
    )


class ReferralCheck:
    """Base class for fraud checks; see the ``register_referral_checks`` hook."""

    name: str = ""
    title: str = ""
    description: str = ""
    schema: type[ReferralCheckSchema] = ReferralCheckSchema
    #: What a reason does unless the program says otherwise.
    default_action: str = "reject"

    def check(self, referral: ReferralCase, settings: dict) -> str | None:
        """A reason to stop the referral, or ``None``. ``settings``: the schema's output."""
        raise NotImplementedError


@dataclass(frozen=True)
class Person:
    external_id: str
    email: str | None
    name: str | None
    #: None for a friend who is not a member yet.
    member_id: int | None


@dataclass(frozen=True)
class OrderFacts:
    """The friend's order as checks see it (money in the program's currency)."""

    external_id: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    #: What the terms' minimum compares: subtotal less discounts (no tax, no shipping).
    after_discounts: Decimal
    #: Fingerprint of the shipping address (:meth:`loyalty.earning.events.Address.key`), if the store sent one.
    shipping_key: str | None

    @classmethod
    def of(cls, order: Order) -> OrderFacts:
        amount = lambda minor: money.from_minor(minor, order.currency)  # noqa: E731
        return cls(
            order.external_id,
            order.currency,
            amount(order.subtotal_minor),
            amount(order.discount_minor),
            amount(order.total_minor),
            amount(order.subtotal_minor - order.discount_minor),
            order.shipping_key,
        )


@dataclass(frozen=True)
class Verdict:
    check: str
    action: str
    reason: str


class ReferralCase:
    """What a check receives: the referral's facts, and a few questions it may ask the database.

    Attributes: ``code``, ``via`` (how the code came: ``discount_code``,
    ``note_attribute``, ``landing_site``, ``meta_data``, ``metadata``,
    ``attribute``, ``api``), ``ip``, ``now``, ``terms``
    (:class:`~loyalty.referrals.terms.Terms`), ``currency``, ``referrer`` and
    ``friend`` (:class:`Person`), ``order`` (:class:`OrderFacts`, or ``None``
    at attribution).
    """

    def __init__(
        self,
        session: Session,
        program: Program,
        terms: Terms,
        referral: Referral,
        referrer: Member,
        friend: Person,
        order: Order | None,
        now: datetime,
    ):
        self._session, self._referral = session, referral
        self.program_slug, self.currency, self.terms, self.now = program.slug, program.currency, terms, now
        self.code, self.via, self.ip = referral.code, referral.via, referral.ip
        self.referrer = Person(referrer.external_id, referrer.email, referrer.name, referrer.id)
        self.friend = friend
        self.order = OrderFacts.of(order) if order is not None else None
        self._order_id = order.id if order is not None else None

    def _others(self):
        query = select(func.count()).select_from(Referral).where(Referral.program_id == self._referral.program_id)
        return query.where(Referral.id != self._referral.id) if self._referral.id is not None else query

    def referrals_from_ip(self, since: datetime) -> int:
        """Other referrals attributed since ``since`` whose friend had this referral's IP (0 without an IP)."""
        if not self.ip:
            return 0
        return self._session.scalar(self._others().where(Referral.ip == self.ip, Referral.created_at >= since))

    def referrals_by_referrer(self, since: datetime) -> int:
        """Other referrals of this referrer attributed since ``since``."""
        return self._session.scalar(
            self._others().where(Referral.referrer_id == self._referral.referrer_id, Referral.created_at >= since)
        )

    def friend_orders_before(self) -> int:
        """The friend's paid orders from before they were referred (not counting the qualifying order)."""
        if self.friend.member_id is None:
            return 0
        since = self._referral.created_at or self.now
        query = (
            select(func.count())
            .select_from(Order)
            .where(Order.member_id == self.friend.member_id, Order.paid_at.is_not(None), Order.paid_at < since)
        )
        if self._order_id is not None:
            query = query.where(Order.id != self._order_id)
        return self._session.scalar(query)

    def referrer_shipping_keys(self) -> set[str]:
        """Fingerprints of the addresses the referrer's orders shipped to."""
        return set(
            self._session.scalars(
                select(Order.shipping_key)
                .distinct()
                .where(Order.member_id == self.referrer.member_id, Order.shipping_key.is_not(None))
            )
        )


def run_checks(registry, terms: Terms, case: ReferralCase) -> list[Verdict]:
    """Every enabled check's verdict on the case (checks that let it pass give none)."""
    verdicts = []
    for name, check in sorted(registry.referral_checks.items()):
        schema = check.schema()
        settings = schema.load(terms.checks.get(name, {}))
        if not settings.get("enabled", True):
            continue
        reason = check.check(case, settings)
        if reason is None:
            continue
        if not isinstance(reason, str) or not reason.strip():
            raise errors.LoyaltyError(f"referral check {name} returned {reason!r}, not a reason or None")
        verdicts.append(Verdict(name, settings.get("action") or check.default_action, reason.strip()))
    return verdicts
