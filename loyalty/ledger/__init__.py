"""The points ledger: double-entry, append-only, idempotent (see docs/architecture.md)."""

from loyalty.ledger.posting import Ledger, NewEarning, Posting, TransferLine
from loyalty.ledger.verify import Violation, verify

__all__ = ["Ledger", "NewEarning", "Posting", "TransferLine", "Violation", "verify"]
