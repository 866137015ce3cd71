"""The points ledger: double-entry, append-only, idempotent (see docs/architecture.md).

:class:`Ledger` is the one way in to everything that moves points; the
other names here are what its callers pass and get back.
"""

from loyalty.ledger.amounts import MAX_AMOUNT
from loyalty.ledger.bulk_reversal import NewReversal
from loyalty.ledger.idempotency import MAX_KEY_LENGTH, scoped_key
from loyalty.ledger.issuing import NewEarning
from loyalty.ledger.posting import SWEEP_BATCH, Ledger
from loyalty.ledger.receipts import Receipt, TransferLine

__all__ = [
    "MAX_AMOUNT",
    "MAX_KEY_LENGTH",
    "SWEEP_BATCH",
    "Ledger",
    "NewEarning",
    "NewReversal",
    "Receipt",
    "TransferLine",
    "scoped_key",
]
