"""The points ledger: double-entry, append-only, idempotent (see docs/architecture.md)."""

from loyalty.ledger.posting import Ledger, Posting, TransferLine
from loyalty.ledger.verify import Violation, verify

__all__ = ["Ledger", "Posting", "TransferLine", "Violation", "verify"]
