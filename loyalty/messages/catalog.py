"""The event types: the contract that webhook receivers, e-mail templates and channel plugins rely on.

Each type's payload is ``{"id", "type", "created_at", "program", "data"}``
with ``data.member`` (``external_id``, ``email``, ``name``) and the type's
own fields; ``docs/events.md`` shows an example of each, and the test that
builds those examples keeps the page true.
"""

from __future__ import annotations

#: type -> what it tells, in a sentence (the admin's and the CLI's help).
EVENT_TYPES: dict[str, str] = {
    "member.enrolled": "A customer joined the program (an order, the widget, the API or the CLI).",
    "points.earned": "Points were posted to a member: an order, a bonus, a custom event or a referral reward.",
    "points.released": "Pending points became spendable (the return window ended).",
    "points.redeemed": "A member spent points.",
    "points.adjusted": "A person added or removed points by hand, with a reason.",
    "points.reversed": "Points were taken back: a refund, a cancellation, a correction.",
    "points.expired": "Points expired unspent.",
    "points.expiring": "Points will expire soon (the program's notice period before the expiry date).",
    "tier.changed": "A member moved to another tier: up, down or by hand, with the reason.",
    "reward.redeemed": "A member redeemed a reward: its code or value is ready.",
    "reward.cancelled": "A redemption was cancelled and its points given back.",
    "referral.completed": "A referred friend's order paid off: the referral's rewards were posted.",
    "referral.flagged": "A referral was held for a person to review (a fraud check flagged it).",
}

#: What a destination subscribes to when it wants everything.
ALL = "*"


def check_event_types(names) -> list[str]:
    """The event types a destination may subscribe to, checked; ``["*"]`` for all. Raises ``ValueError``."""
    names = [name.strip() for name in names if name and name.strip()]
    if not names:
        raise ValueError("name at least one event type, or all")
    if ALL in names or "all" in names:
        return [ALL]
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {', '.join(unknown)}; the types are: {', '.join(EVENT_TYPES)}")
    return sorted(set(names), key=list(EVENT_TYPES).index)
