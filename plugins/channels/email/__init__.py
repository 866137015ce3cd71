"""E-mail to members over SMTP: the ``email`` notification channel.

A program switches it on with its from-address (a destination of channel
``email``: ``loyalty email enable``, or the admin's E-mail page); the
platform sends through the server ``SMTP_URL`` names (see
:mod:`.smtp`). Without ``SMTP_URL`` nothing is sent: every delivery is
recorded as skipped with :meth:`EmailChannel.unavailable`'s reason.

Six kinds of e-mail, each a default wording (:mod:`.wording`) a program
may rewrite: welcome, points earned (at most one an hour per member, the
points summed), points expiring, a tier reached (upward moves only),
a reward with its code, a referral's reward. Each message has a plain
text and an HTML part, a ``Message-ID`` that stays the same on every
retry of its delivery (so a receiving server that saw it drops the
copy), and, when the platform's public URL is set, the member's one-click
unsubscribe link in ``List-Unsubscribe`` with ``List-Unsubscribe-Post``
(RFC 8058, as large mailbox providers require of bulk senders).
"""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from marshmallow import fields, validate

from loyalty.plugin_api import ChannelConfigSchema, NotificationChannel, Outcome, hookimpl

from . import smtp
from .wording import TEMPLATES

NOT_CONFIGURED = "SMTP is not configured (SMTP_URL is not set): no e-mail is sent"
NO_CONTROL = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="must be one line, without control characters")


#: Addresses in ASCII only: an internationalised one needs SMTPUTF8 from every server on the way, and
#: refused at the end it would be retried for a day as if the network had failed.
ASCII_ONLY = validate.Regexp(r"^[\x21-\x7e]+$", error="Use an address in ASCII (a domain in its xn-- form).")


class EmailConfigSchema(ChannelConfigSchema):
    from_address = fields.Email(
        required=True,
        validate=[validate.Length(max=320), ASCII_ONLY],
        metadata={"description": "The sender members see, e.g. rewards@shop.example (the SMTP server must accept it)."},
    )
    from_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=200), NO_CONTROL],
        metadata={"description": "The sender's name; the program's name when empty."},
    )
    reply_to = fields.Email(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=320), ASCII_ONLY],
        metadata={"description": "Where members' answers go, if not to the from-address."},
    )


def tier_went_up(data: dict) -> bool:
    """Whether a ``tier.changed`` event is a move up: ``direction``, else the ranks of ``from`` and ``to``."""
    direction = data.get("direction")
    if direction in ("up", "down"):
        return direction == "up"
    to, before = data.get("to"), data.get("from")
    if not isinstance(to, dict):
        return False
    if not isinstance(before, dict):
        return True  # a first tier
    try:
        return int(to.get("rank")) > int(before.get("rank"))
    except (TypeError, ValueError):
        return False


class EmailChannel(NotificationChannel):
    def accepts(self, payload: dict) -> bool:
        """A tier reached (not left); a referral's reward to the referrer (not the friend, if the event names a role)."""
        data = payload.get("data") or {}
        if payload.get("type") == "tier.changed":
            return tier_went_up(data)
        if payload.get("type") == "referral.completed":
            return data.get("role", "referrer") == "referrer"
        return True

    def unavailable(self, settings) -> str | None:
        url = settings.get("SMTP_URL")
        if not url:
            return NOT_CONFIGURED
        try:
            smtp.parse(url)
        except smtp.BadSmtpUrl as exc:
            return f"{exc}: no e-mail is sent"
        return None

    def status(self, settings) -> str:
        """How e-mail leaves here, for the admin and ``loyalty email status`` (never the password)."""
        return self.unavailable(settings) or f"Sending through {smtp.parse(settings['SMTP_URL']).shown()}"

    def send(self, message) -> Outcome:
        email = (message.member or {}).get("email")
        if not email:
            return Outcome.skipped("the member has no e-mail address")
        reason = self.unavailable(message.settings)
        if reason is not None:  # SMTP_URL went away after the delivery was made: wait for it to come back
            return Outcome.retry(reason)
        if message.content is None:
            return Outcome.failed("the e-mail has no content")
        try:
            mail = build(message, email)
        except (ValueError, IndexError) as exc:  # an address the e-mail library cannot write
            return Outcome.failed(f"the e-mail could not be written: {exc}")
        return smtp.send(smtp.parse(message.settings["SMTP_URL"]), mail)


def build(message, to: str) -> EmailMessage:
    """The e-mail of one delivery: plain text with an HTML alternative, and the headers that go with it."""
    config = message.destination
    sender = config["from_address"]
    domain = sender.rpartition("@")[2]
    # Headers fold at the standard's hard limit, not at 78: folded there, a long unsubscribe URL (no spaces
    # to fold at) came out as RFC 2047 encoded words, which no mailbox provider decodes in List-Unsubscribe.
    mail = EmailMessage(policy=policy.default.clone(max_line_length=998))
    mail["Subject"] = message.content["subject"]
    mail["From"] = Address(_one_line(config.get("from_name") or message.program["name"]), addr_spec=sender)
    mail["To"] = Address(_one_line(message.member.get("name")), addr_spec=to)
    if config.get("reply_to"):
        mail["Reply-To"] = config["reply_to"]
    mail["Date"] = format_datetime(message.now)
    # The same on every attempt of this delivery: a server that got it once drops a second copy.
    mail["Message-ID"] = f"<{message.event_uid}.{message.delivery_id}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers to this
    unsubscribe_url = message.member.get("unsubscribe_url")
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.content["text"])
    if message.content.get("html"):
        mail.add_alternative(message.content["html"], subtype="html")
    return mail


def _one_line(name: str | None) -> str:
    """A display name as one line: what stores send as a name may hold line breaks, never a header's end."""
    return " ".join((name or "").split())


EMAIL = EmailChannel(
    name="email",
    title="E-mail to members",
    schema=EmailConfigSchema,
    audience="member",
    templates=TEMPLATES,
    digests={"points.earned": timedelta(hours=1)},
)


@hookimpl
def register_notification_channels(register):
    register(EMAIL)
