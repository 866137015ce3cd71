"""Money: Decimal amounts in an ISO 4217 currency, stored as integer minor units.

Never float. The database keeps minor units (cents, yen, fils) in BIGINT
columns so that sums are exact on every backend (SQLite has no decimal
type) and set-based SQL can add them up; code works with ``Decimal``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from loyalty import errors

#: ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENTS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for most)."""
    return _EXPONENTS.get(currency.upper(), 2)


#: Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal).
STRIPE_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
STRIPE_THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def stripe_exponent(currency: str) -> int:
    """The decimal places of ``currency``'s minor unit as Stripe counts amounts (not always ISO 4217's).

    Stripe sends and takes integer minor units, but its list differs from
    ISO 4217 (ISK has 2 places at Stripe, 0 in ISO; MGA 0 at Stripe). Here,
    not in a plugin, because both the Stripe storefront (reading amounts)
    and the Stripe promotion reward (sending them) need it, and a plugin
    never imports another plugin.
    """
    currency = currency.upper()
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    return 3 if currency in STRIPE_THREE_DECIMAL else 2


def to_decimal(value, currency: str, *, field: str = "amount") -> Decimal:
    """Parse ``value`` as an amount of ``currency``; refuse floats and extra precision."""
    if isinstance(value, float):
        raise errors.InvalidInput(f'{field}: money must not be a float; send a string such as "19.99"')
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise errors.InvalidInput(f"{field}: {value!r} is not an amount of money") from None
    if not amount.is_finite():
        raise errors.InvalidInput(f"{field}: {value!r} is not an amount of money")
    places = Decimal(1).scaleb(-exponent(currency))
    try:
        quantized = amount.quantize(places, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # more digits than Decimal's precision: no real amount of money
        raise errors.InvalidInput(f"{field}: {str(value)[:40]} is too large an amount of money") from None
    if quantized != amount:
        raise errors.InvalidInput(
            f"{field}: {value} has more decimal places than {currency} allows ({exponent(currency)})"
        )
    return quantized


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("19.99")``, ``"USD"`` → ``1999``."""
    return int(to_decimal(amount, currency).scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """``1999``, ``"USD"`` → ``Decimal("19.99")``."""
    return Decimal(minor).scaleb(-exponent(currency)).quantize(Decimal(1).scaleb(-exponent(currency)))
