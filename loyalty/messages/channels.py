"""The notification-channel contract: what a plugin implements to carry events somewhere.

A channel type (``webhook``, ``email``, or a plugin's: an SMS gateway, a
chat tool, an e-mail service's API) is registered through the
``register_notification_channels`` hook. Program managers then configure
*destinations* of it (a webhook endpoint's URL, the e-mail sender's
from-address), whose ``config`` the channel's ``schema`` validates.

The platform does the rest, the same for every channel: it fans each event
out to the destinations that want it, keeps one delivery per event and
destination, claims due deliveries so that no two senders send one, and
retries with backoff until the delivery succeeds or is dead-lettered.
The channel only sends: :meth:`NotificationChannel.send` gets a
:class:`Message` (everything it needs, no database) and returns an
:class:`Outcome`. It is called outside any transaction, in a sender's
thread, so it may block on the network (keep its own timeouts short: at
most 10 seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema


class ChannelConfigSchema(Schema):
    """Base of a channel's destination config schema: unknown keys are left out, not errors."""

    class Meta:
        unknown = EXCLUDE


@dataclass(frozen=True)
class Template:
    """A message's default wording (Jinja, rendered sandboxed): a subject, a plain text and an HTML body."""

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class Message:
    """One delivery as a channel sends it. Plain values only: the channel needs no database.

    ``payload`` is the event as webhook receivers get it; ``payloads`` every
    event the delivery carries (more than one when the channel sums a digest).
    ``member`` is the event's member (``external_id``, ``email``, ``name``,
    ``unsubscribe_url``) or ``None``; ``content`` the rendered template
    (``subject``, ``text``, ``html``) for a channel with templates.
    ``settings`` is the app's configuration (``SMTP_URL``…), read-only.
    """

    delivery_id: int
    attempt: int
    event_uid: str
    event_type: str
    payload: dict
    payloads: tuple[dict, ...]
    destination_id: int
    destination: dict
    program: dict
    member: dict | None
    content: dict | None
    settings: Mapping[str, Any]
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: ``delivered``, ``retry`` (try again later), ``failed`` or ``skipped`` (for good).

    ``code`` is the receiver's answer (an HTTP status, an SMTP reply code),
    ``detail`` a sentence a program manager can act on.
    """

    status: str
    code: int | None = None
    detail: str | None = None

    @classmethod
    def delivered(cls, code: int | None = None, detail: str | None = None) -> Outcome:
        return cls("delivered", code, detail)

    @classmethod
    def retry(cls, detail: str, code: int | None = None) -> Outcome:
        return cls("retry", code, detail)

    @classmethod
    def failed(cls, detail: str, code: int | None = None) -> Outcome:
        return cls("failed", code, detail)

    @classmethod
    def skipped(cls, detail: str) -> Outcome:
        return cls("skipped", None, detail)


@dataclass
class NotificationChannel:
    """A kind of destination. Subclass it (or make an instance) and register it.

    * ``name``: unique, stored on each destination (``webhook``, ``email``).
    * ``title``: what the admin shows.
    * ``schema``: a :class:`ChannelConfigSchema` subclass for one destination's config.
    * ``audience``: ``"program"`` (one delivery per event per destination:
      webhooks, a chat room) or ``"member"`` (to the event's member: not
      made for events without one; skipped when the member opted out).
    * ``templates``: event type -> :class:`Template`, for a channel that
      sends words (e-mail, SMS). Only those event types are sent; the
      program may replace each wording, and :class:`Message` ``content``
      carries it rendered.
    * ``digests``: event type -> a window. Deliveries of that type to one
      member are at most one per window; what comes in between travels in
      the next one (``payloads``). E-mail's "points earned" sums an hour.
    * ``secret_fields``: config keys the admin and the CLI only show masked.
    """

    name: str
    title: str
    schema: type[ChannelConfigSchema] = ChannelConfigSchema
    audience: str = "program"
    templates: Mapping[str, Template] = field(default_factory=dict)
    digests: Mapping[str, timedelta] = field(default_factory=dict)
    secret_fields: tuple[str, ...] = ()

    def accepts(self, payload: dict) -> bool:
        """Whether this event, of a type the destination wants, should go (e-mail: a tier reached, not left)."""
        return True

    def refuses(self, config: dict, settings: Mapping[str, Any]) -> str | None:
        """Why a destination's config (as ``schema`` loaded it) cannot be used here, or ``None``.

        Checked when a destination is added or changed, with lookups the
        schema cannot make (a webhook URL whose host resolves to a private
        address); the destination is then refused with this sentence.
        """
        return None

    def unavailable(self, settings: Mapping[str, Any]) -> str | None:
        """Why this channel cannot send at all here (``SMTP_URL`` unset), or ``None``; its deliveries are skipped with it."""
        return None

    def send(self, message: Message) -> Outcome:
        """Send one delivery; return what became of it. Raise nothing on purpose: an exception counts as a retry."""
        raise NotImplementedError
