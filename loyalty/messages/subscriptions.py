"""A member's choice about messages: subscribed (the default) or opted out, from any of the ways they say so.

The unsubscribe link in every e-mail, the store's API and the member API
of the widget all change it here. Opting out is honoured by every channel
that writes to members (:mod:`loyalty.messages.dispatch` skips their
deliveries); webhooks to the store's own systems still carry the events.
"""

from __future__ import annotations

from datetime import datetime

from loyalty.models import Member


def subscribed(member: Member) -> bool:
    return member.unsubscribed_at is None


def set_subscribed(member: Member, value: bool, *, at: datetime) -> bool:
    """Subscribe or opt out; whether anything changed (opting out twice keeps the first time). No commit."""
    if value == subscribed(member):
        return False
    member.unsubscribed_at = None if value else at
    return True
