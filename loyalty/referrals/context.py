"""What a referral's life is given: one explicit context instead of the caller's internals.

The earning pipeline calls into referrals with a friend's accounts already
held in its ledger, so referrals must post through that ledger (its held
locks and system accounts) and with the pipeline's registry and clock; the
API, the CLI and the ``referrals`` job build one of their own. Referrals
import nothing of the pipeline: this is all they see of their caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from loyalty.clock import Clock
from loyalty.ledger import Ledger
from loyalty.models import Program
from loyalty.registry import Registry


@dataclass(frozen=True)
class ReferralContext:
    """A program's referrals within one transaction (the caller owns it)."""

    session: Session
    program: Program
    #: The plugin registry: referral checks, and the ``referral_converted`` and ``points_posted`` hooks.
    registry: Registry
    clock: Clock
    #: Posts the rewards and holds members' accounts (the pipeline's own, when it calls).
    ledger: Ledger

    @classmethod
    def of(cls, session: Session, program: Program, registry: Registry, clock: Clock) -> ReferralContext:
        """A context with a ledger of its own, for callers that hold no accounts yet."""
        return cls(session, program, registry, clock, Ledger(session, clock))
