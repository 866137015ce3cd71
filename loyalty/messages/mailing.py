"""A program's e-mail to members switched on and off: its destination of channel ``email``.

One destination per program, made or updated here (by ``loyalty email
enable`` and the admin's E-mail page) with the sender's from-address,
name and reply-to, as the channel's schema accepts them; it wants the
event types the channel has words for (welcome, points earned and
expiring, tier reached, reward issued, referral reward).
"""

from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import select

from loyalty import errors
from loyalty.models import Destination, Program

CHANNEL = "email"


def channel_of(registry):
    channel = registry.notification_channels.get(CHANNEL)
    if channel is None:
        raise errors.NotFound("the e-mail channel is not installed (safe mode without built-in plugins?)")
    return channel


def destination(session, program: Program) -> Destination | None:
    """The program's e-mail destination, on or off; ``None`` if e-mail was never switched on."""
    return session.scalar(
        select(Destination)
        .where(Destination.program_id == program.id, Destination.channel == CHANNEL)
        .order_by(Destination.id)
        .limit(1)
    )


def enable(
    session, program: Program, *, registry, clock, from_address: str, from_name=None, reply_to=None
) -> Destination:
    """Switch e-mail on (again) with this sender; :class:`errors.InvalidInput` names each wrong field. No commit."""
    channel = channel_of(registry)
    try:
        config = channel.schema().load(
            {"from_address": from_address, "from_name": from_name or None, "reply_to": reply_to or None}
        )
    except ValidationError as exc:
        fields = {name: list(messages) for name, messages in exc.normalized_messages().items()}
        raise errors.InvalidInput(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items()), fields=fields
        ) from None
    config = {key: value for key, value in config.items() if value is not None}
    now = clock.now()
    row = destination(session, program)
    if row is None:
        row = Destination(program_id=program.id, channel=CHANNEL, created_at=now)
        session.add(row)
    row.name = f"E-mail from {config['from_address']}"
    row.events = list(channel.templates)
    row.config = config
    row.status, row.disabled_reason, row.failing_since = "active", None, None
    row.updated_at = now
    session.flush()
    return row


def disable(session, program: Program, *, clock) -> bool:
    """Switch e-mail off (its settings are kept); whether it was on. No commit."""
    row = destination(session, program)
    if row is None or row.status == "disabled":
        return False
    row.status, row.disabled_reason, row.updated_at = "disabled", "Switched off by a person.", clock.now()
    return True
