"""The amounts of points the ledger accepts, checked before anything is locked or written."""

from __future__ import annotations

from loyalty import errors

#: Larger amounts are refused as input errors rather than risking overflow
#: in sums: a trillion points is far beyond any real program.
MAX_AMOUNT = 10**12


def check_amount(amount) -> int:
    """``amount`` if it is a whole, positive number of points within :data:`MAX_AMOUNT`."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise errors.InvalidInput(f"amount must be a whole number of points, not {amount!r}")
    if amount <= 0:
        raise errors.InvalidInput(f"amount must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise errors.InvalidInput(f"amount {amount} is larger than the limit of {MAX_AMOUNT}")
    return amount
