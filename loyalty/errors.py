"""Domain errors. Each has a stable ``code`` that the CLI and (later) the
HTTP API show, and a message written for the person who caused it.

Services raise them *before* writing anything where they can; where a
check can only happen after a write (a race lost on a unique key), the
caller's transaction is rolled back, so a refused request changes nothing.
"""

from __future__ import annotations


class LoyaltyError(Exception):
    code = "error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(LoyaltyError):
    code = "invalid_input"


class NotFound(LoyaltyError):
    code = "not_found"


class UnknownProgram(NotFound):
    code = "unknown_program"


class UnknownMember(NotFound):
    code = "unknown_member"


class UnknownEntry(NotFound):
    code = "unknown_entry"


class Conflict(LoyaltyError):
    code = "conflict"


class DuplicateProgram(Conflict):
    code = "duplicate_program"


class DuplicateMember(Conflict):
    code = "duplicate_member"


class IdempotencyConflict(Conflict):
    """The idempotency key was used before for a different request."""

    code = "idempotency_conflict"


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"


class MemberNotActive(LoyaltyError):
    code = "member_not_active"


class NotReversible(LoyaltyError):
    code = "not_reversible"


class ReversalExceeded(LoyaltyError):
    """More was asked to be reversed than is left of the entry."""

    code = "reversal_exceeded"


class OrderNotFound(NotFound):
    """An event names an order the platform has not seen yet.

    Retryable: a refund can arrive before its order; the webhook inbox
    keeps it and tries again later.
    """

    code = "order_not_found"
    retryable = True


class UnknownRuleType(InvalidInput):
    code = "unknown_rule_type"


class UnknownRule(NotFound):
    code = "unknown_rule"


class UnknownTier(NotFound):
    code = "unknown_tier"


class SignatureInvalid(LoyaltyError):
    """A webhook's signature is missing, malformed, stale or does not match."""

    code = "invalid_signature"


class MalformedWebhook(InvalidInput):
    """A signed webhook whose body or headers cannot be read."""

    code = "malformed_webhook"


class UnknownStorefront(NotFound):
    code = "unknown_storefront"


class ReferralsDisabled(Conflict):
    """The program has no referral terms (or they are switched off)."""

    code = "referrals_disabled"


class UnknownReferralCode(NotFound):
    """A code no member of the program has."""

    code = "unknown_referral_code"


class UnknownReferral(NotFound):
    code = "unknown_referral"


class AlreadyReferred(Conflict):
    """The friend was referred before (by another code): the first attribution stands."""

    code = "already_referred"


class ReferralNotOpen(Conflict):
    """Approving or rejecting a referral that is already decided."""

    code = "referral_not_open"


class UnknownReward(NotFound):
    code = "unknown_reward"


class UnknownRedemption(NotFound):
    code = "unknown_redemption"


class DuplicateReward(Conflict):
    code = "duplicate_reward"


class RewardUnavailable(Conflict):
    """Paused, not started or ended, above the member's tier, out of stock, or the member's limit reached."""

    code = "reward_unavailable"


class RedemptionNotCancellable(Conflict):
    """Only an issued, unused redemption can be cancelled."""

    code = "redemption_not_cancellable"


class EventIdConflict(Conflict):
    """A custom event id already recorded for another member or another event name."""

    code = "event_id_conflict"


class RuleFailed(LoyaltyError):
    """A rule's plugin raised while a dry run evaluated it (the message names the rule and the plugin)."""

    code = "rule_failed"


class UnknownDestination(NotFound):
    """No destination (an outbound webhook endpoint, …) with that id, in that program."""

    code = "unknown_destination"


class UnknownMessageDelivery(NotFound):
    """No outbound delivery with that id."""

    code = "unknown_delivery"
