"""Sample data for a template's check and preview: a made-up member, and each event type's data as events carry it.

A program's template that uses a name not here is refused when it is
saved (it would fail on a real event too), so these must stay the fields
the events really carry (``docs/events.md``, the catalog); docs/email.md
shows them to template writers, and a test keeps the two equal. A
preview for a real member uses their name and address with the same
sample event.
"""

from __future__ import annotations

PROGRAM = {"slug": "sample", "name": "Sample Shop", "currency": "USD"}
MEMBER = {"external_id": "cust_1001", "email": "ada@example.com", "name": "Ada Lovelace"}
UNSUBSCRIBE_URL = "https://loyalty.example/messages/v1/sample/unsubscribe/1/0123456789abcdef0123456789abcdef"

#: event type -> the data of the events a sample message carries (two for a digest: they are summed).
EVENTS: dict[str, list[dict]] = {
    "member.enrolled": [{"source": "order"}],
    "points.earned": [
        {"points": 120, "pending": False, "reason": "Order #1001", "balance": 420},
        {"points": 50, "pending": False, "reason": "Product review", "balance": 470},
    ],
    "points.released": [{"points": 120, "balance": 470}],
    "points.redeemed": [{"points": 500, "balance": 120}],
    "points.adjusted": [{"points": 25, "reason": "Goodwill", "balance": 445}],
    "points.reversed": [{"points": -120, "reason": "Refund of order #1001", "balance": 300}],
    "points.expired": [{"points": 80, "balance": 340}],
    "points.expiring": [{"points": 80, "expires_at": "2026-12-31T00:00:00Z", "balance": 420}],
    "tier.changed": [
        {
            "from": {"name": "Silver", "rank": 1},
            "to": {"name": "Gold", "rank": 2, "perks": "Free shipping and double points on your birthday"},
            "direction": "up",
            "reason": "scheme",
        }
    ],
    "reward.redeemed": [
        {
            "reward": {"id": 7, "name": "USD 5 off"},
            "points": 500,
            "code": "LOYAL-7K2M-9QXD",
            "expires_at": "2027-03-31T00:00:00Z",
        }
    ],
    "reward.cancelled": [{"reward": {"id": 7, "name": "USD 5 off"}, "points": 500, "code": "LOYAL-7K2M-9QXD"}],
    "referral.completed": [{"points": 200, "role": "referrer", "friend": {"name": "Grace"}}],
    "referral.flagged": [{"reason": "self_referral"}],
}


def member(real=None) -> dict:
    """A member as a template sees them: the real one's name and address, or :data:`MEMBER`."""
    if real is None:
        return dict(MEMBER)
    return {"external_id": real.external_id, "email": real.email, "name": real.name}


def payloads(event_type: str | None) -> list[dict]:
    """The sample events of ``event_type`` as a delivery carries them (only ``data`` is read by templates)."""
    return [{"type": event_type, "data": dict(data)} for data in EVENTS.get(event_type or "", [{}])]
