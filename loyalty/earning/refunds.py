"""Refund arithmetic: what of a refund an order can take, and how many points come back.

A refund claws back in proportion to what the order has had refunded so
far, so several partial refunds take back no more, together, than one
refund of their sum would (the target is computed from the order's total
refunded, less what was reversed already). A cancellation, or a refund of
everything, takes back all that is left. The order's earn entries are
reversed in turn, each capped at what it has left; the ledger takes each
reversal from the entry's pending points first
(:meth:`loyalty.ledger.Ledger.reverse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from loyalty import errors, money
from loyalty.earning.events import OrderRefunded
from loyalty.ledger import Ledger, NewReversal, Receipt
from loyalty.models import Order

#: An order's earn entries: ``(entry id, amount, reversed so far)`` (:func:`loyalty.earning.orders.earned`).
Earned = list[tuple[int, int, int]]


@dataclass(frozen=True)
class RefundPlan:
    """What a refund does to its order, decided before anything is written.

    ``status`` is the outcome's ("processed", "duplicate", "ignored");
    ``amount_minor`` is what is recorded (0: nothing is written).
    """

    status: str
    message: str = ""
    amount_minor: int = 0
    note: str = ""


def check_refund(order: Order, event: OrderRefunded) -> Decimal:
    """The refund's amount, once it fits the order: its currency, positive, with the store's refund id."""
    amount = money.to_decimal(event.amount, order.currency, field="amount")
    if event.currency.upper() != order.currency:
        raise errors.InvalidInput(f"refund in {event.currency}, but order {order.external_id} is in {order.currency}")
    if amount <= 0:
        raise errors.InvalidInput("a refund amount must be positive")
    if not event.refund_id:
        raise errors.InvalidInput("a refund needs the store's refund id")
    return amount


def plan_refund(order: Order, event: OrderRefunded, amount: Decimal, *, applied_before: bool) -> RefundPlan:
    """What a checked refund does (one place for the one-by-one pipeline and the batch).

    ``applied_before``: the order already has a refund with this refund id.
    """
    if order.status == "cancelled":
        return RefundPlan("ignored", f"order {order.external_id} is cancelled")
    if applied_before:
        return RefundPlan("duplicate", f"refund {event.refund_id} was already applied")
    amount_minor = money.to_minor(amount, order.currency)
    if event.cumulative:
        amount_minor -= order.refunded_minor
        if amount_minor <= 0:
            return RefundPlan("duplicate", f"order {order.external_id} was already refunded this much")
    amount_minor, note = refundable(order, event.refund_id, amount_minor)
    return RefundPlan("processed", note if amount_minor == 0 else "", amount_minor, note)


def record_refund(order: Order, amount_minor: int, now: datetime) -> None:
    """The order's side of a recorded refund: its refunded total and status."""
    order.refunded_minor += amount_minor
    order.status = "refunded" if order.refunded_minor >= order.total_minor else "partially_refunded"
    order.updated_at = now


def refundable(order: Order, refund_id: str, amount_minor: int) -> tuple[int, str]:
    """What of a refund the order can take: at most what is left of it, and a note when less.

    Stores do not refund more than was paid, so a refund beyond what is
    left is a report that overlaps an earlier one. Recording it whole
    would show an order refunded 150.00 of 100.00; what is left is
    recorded, and the delivery says so.
    """
    left = max(order.total_minor - order.refunded_minor, 0)
    if amount_minor <= left:
        return amount_minor, ""
    asked, kept = money.from_minor(amount_minor, order.currency), money.from_minor(left, order.currency)
    return left, (
        f"refund {refund_id} of {asked} {order.currency} is more than order {order.external_id} had left to "
        f"refund ({kept} {order.currency}): {'recorded ' + str(kept) if left else 'nothing recorded'}"
    )


def refund_claw_back(order: Order, earned: Earned) -> int:
    """The points still to take back after the order's refunds so far: its share of what it earned.

    Rounded down, so a partial refund never takes back a point more than
    its share; the last refund (everything refunded) takes back the rest.
    """
    total = sum(amount for _, amount, _ in earned)
    if order.total_minor <= 0 or order.refunded_minor >= order.total_minor:
        target = total
    else:
        share = Decimal(order.refunded_minor) / Decimal(order.total_minor)
        target = int((total * share).to_integral_value(rounding=ROUND_FLOOR))
    return target - sum(reversed_ for _, _, reversed_ in earned)


def cancel_claw_back(earned: Earned) -> int:
    """The points a cancellation takes back: all that is left of every entry."""
    return sum(amount - reversed_ for _, amount, reversed_ in earned)


def claw_back(ledger: Ledger, earned: Earned, points: int, *, key: str, reason: str) -> list[Receipt]:
    """Reverse ``points`` across the order's entries, each capped at what it has left."""
    return [
        ledger.reverse(r.entry_id, r.amount, key=r.key, reason=r.reason, actor=r.actor)
        for r in claw_back_plan(earned, points, key=key, reason=reason)
    ]


def claw_back_plan(earned: Earned, points: int, *, key: str, reason: str) -> list[NewReversal]:
    """The reversals that take ``points`` back: the order's entries in turn, each capped at what it has left.

    Posted one by one (:func:`claw_back`) or, for a worker's wave, all
    orders' together (:meth:`loyalty.ledger.Ledger.reverse_many`).
    """
    planned = []
    for entry_id, amount, reversed_ in earned:
        if points <= 0:
            break
        take = min(amount - reversed_, points)
        if take <= 0:
            continue
        planned.append(NewReversal(entry_id, take, key=f"{key}:entry:{entry_id}", reason=reason, actor="pipeline"))
        points -= take
    return planned
