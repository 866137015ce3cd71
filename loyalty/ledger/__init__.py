"""The points ledger: double-entry, append-only, idempotent (see docs/architecture.md)."""

from loyalty.ledger.posting import MAX_KEY_LENGTH, Ledger, NewEarning, Receipt, TransferLine, scoped_key
from loyalty.ledger.verify import Violation, verify

__all__ = ["MAX_KEY_LENGTH", "Ledger", "NewEarning", "Receipt", "TransferLine", "Violation", "scoped_key", "verify"]
