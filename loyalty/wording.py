"""Numbers, points and money as people write them, for text shoppers read.

Configs hold ``Decimal("1.0000")`` and ``Decimal("50.00")``; a shopper
reads "1 point for every USD 1 spent" and "orders of USD 50 or more". The
earning rule types (plugins) and the core's ways-to-earn list write with the
same functions, so the wording is the same wherever it comes from;
plugins get them through :mod:`loyalty.plugin_api`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from loyalty.money import exponent


def plain_number(number: Decimal | int) -> str:
    """``1.0000`` as ``"1"``, ``1.50`` as ``"1.5"``, ``1E+3`` as ``"1000"``: no trailing zeros, no exponent."""
    number = Decimal(number)
    if not number.is_finite():
        return str(number)
    return format(number.normalize() + 0, "f")  # + 0: no "-0"


def points_text(points: Decimal | int) -> str:
    """``"1 point"``, ``"1.5 points"``, ``"100 points"``."""
    written = plain_number(points)
    return f"{written} point" if written == "1" else f"{written} points"


def count_text(count: int, noun: str) -> str:
    """``"1 lot"``, ``"3 lots"``, ``"0 lots"``: a count with its noun, singular only for one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def money_text(amount: Decimal | int, currency: str) -> str:
    """``"USD 50"`` for a whole amount, ``"USD 12.50"`` with the currency's decimals otherwise.

    The currency code, not a symbol: "$" is several currencies, and the code
    reads the same in every language.
    """
    amount = Decimal(amount)
    if amount.is_finite() and amount != amount.to_integral_value():
        try:
            cents = amount.quantize(Decimal(1).scaleb(-exponent(currency)))
        except InvalidOperation:  # more digits than Decimal holds: no real amount, written as it is
            cents = None
        if cents == amount:
            return f"{currency} {cents}"
    return f"{currency} {plain_number(amount)}"


def multiplier_text(multiplier: Decimal | int) -> str:
    """``"Double points"``, ``"Triple points"``, ``"1.5x points"``: a multiplier rule's text opens with it."""
    written = plain_number(multiplier)
    return {"2": "Double points", "3": "Triple points"}.get(written, f"{written}x points")
