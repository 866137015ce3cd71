"""What a redemption tells the outbox: ``reward.redeemed`` when it is issued, ``reward.cancelled`` when given back.

Recorded by :mod:`loyalty.rewards.redeem` in the redemption's transaction,
once per redemption: a repeated request returns the first redemption and
records nothing, a reward that could not be issued rolls its savepoint
back (and a ``failed`` redemption is no reward: nothing is told).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from loyalty import money
from loyalty.messages import outbox
from loyalty.models import Redemption, Reward


def amount(value: Decimal | None, currency: str) -> str | None:
    """Money as events carry it: a decimal string (``"5.00"``, to the currency's cents when it fits), never a float."""
    if value is None:
        return None
    cents = value.quantize(Decimal(1).scaleb(-money.exponent(currency)))
    return str(cents) if cents == value else format(value.normalize(), "f")


def data(redemption: Redemption, reward: Reward) -> dict:
    """The redemption as a receiver needs it: which reward, its code or value, what it cost, until when."""
    expires_at = redemption.expires_at
    return {
        "redemption_id": redemption.id,
        "reward": {"id": reward.id, "name": reward.name, "type": reward.type},
        "points": redemption.points,
        "code": redemption.code,
        "value": amount(redemption.value, redemption.currency),
        "currency": redemption.currency,
        # What the reward type issued, as it said (a code's kind and amount, a Stripe promotion code…).
        "details": dict(redemption.details or {}),
        "expires_at": expires_at.isoformat().replace("+00:00", "Z") if expires_at else None,
        "entry_id": redemption.entry_id,
    }


def record(session: Session, type: str, redemption: Redemption, reward: Reward, *, at: datetime) -> None:
    """``reward.redeemed`` or ``reward.cancelled`` for the redemption, in the session's transaction."""
    outbox.record(
        session, redemption.program_id, type, at=at, member_id=redemption.member_id, data=data(redemption, reward)
    )
