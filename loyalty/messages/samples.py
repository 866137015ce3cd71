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
    "member.enrolled": [{"enrolled_at": "2026-01-01T12:00:00Z", "referral_code": "K7QX4M2P"}],
    "points.earned": [
        {
            "entry_id": 2,
            "points": 120,
            "status": "pending",
            "reason": "Order #1001",
            "source": {"type": "order", "id": "1001"},
            "cause": {"type": "order", "order_id": "1001", "rule": "Base rate"},
            "release_at": "2026-01-15T12:00:00Z",
            "expires_at": None,
        },
        {
            "entry_id": 3,
            "points": 50,
            "status": "available",
            "reason": "Product review",
            "source": {"type": "rule", "id": "4"},
            "cause": {"type": "event", "rule": "Reviews"},
            "release_at": None,
            "expires_at": None,
        },
    ],
    "points.released": [{"points": 120, "balance": 470, "reason": "Order #1001", "lot_id": 1}],
    "points.redeemed": [{"points": 500, "balance": 120}],
    "points.adjusted": [{"points": 25, "reason": "Goodwill", "balance": 445}],
    "points.reversed": [{"points": -120, "reason": "Refund of order #1001", "balance": 300}],
    "points.expired": [{"points": 80, "balance": 340}],
    "points.expiring": [{"points": 80, "date": "2026-12-31", "expires_at": "2026-12-31T00:00:00Z"}],
    "tier.changed": [
        {
            "from": {"id": 1, "name": "Silver"},
            "to": {"id": 2, "name": "Gold"},
            "direction": "up",
            "reason": "upgrade",
            "qualifying_value": "1250",
        }
    ],
    "reward.redeemed": [
        {
            "redemption_id": 2,
            "reward": {"id": 7, "name": "USD 5 off", "type": "fixed_amount_code"},
            "points": 500,
            "code": "LOYAL-7K2M-9QXD",
            "value": None,
            "currency": "USD",
            "details": {"kind": "amount_off", "amount": "5.00", "currency": "USD"},
            "expires_at": "2027-03-31T00:00:00Z",
            "entry_id": 6,
        }
    ],
    "reward.cancelled": [{"reward": {"id": 7, "name": "USD 5 off"}, "points": 500, "code": "LOYAL-7K2M-9QXD"}],
    "referral.completed": [
        {
            "referral_id": 1,
            "referrer": {"external_id": "cust_1001"},
            "friend": {"external_id": "cust_2002"},
            "order_id": "1002",
            "referrer_points": 500,
            "friend_points": 100,
            "reason": None,
        }
    ],
    "referral.flagged": [{"referral_id": 1, "reason": "self_referral"}],
}


def member(real=None) -> dict:
    """A member as a template sees them: the real one's name and address, or :data:`MEMBER`."""
    if real is None:
        return dict(MEMBER)
    return {"external_id": real.external_id, "email": real.email, "name": real.name}


def payloads(event_type: str | None) -> list[dict]:
    """The sample events of ``event_type`` as a delivery carries them (only ``data`` is read by templates)."""
    return [{"type": event_type, "data": dict(data)} for data in EVENTS.get(event_type or "", [{}])]
