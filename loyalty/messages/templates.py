"""Message wording: a channel's default templates, a program's own, rendered in Jinja's sandbox.

Program managers write these templates, so they are rendered in
:class:`jinja2.sandbox.SandboxedEnvironment` (no attribute of Python's
internals is reachable) with a context of plain values only: the member,
the program, the event's data, and for a digest every event it carries.
"""

from __future__ import annotations

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select

from loyalty.models import MessageTemplate, Program

TEXT = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
HTML = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


def context(*, program: dict, member: dict | None, payloads) -> dict:
    """What a template can use: ``member``, ``program``, ``event`` (the first event's data), ``events``, ``points``."""
    events = [payload["data"] for payload in payloads]
    return {
        "member": member or {},
        "program": program,
        "event": events[0] if events else {},
        "events": events,
        "points": sum(int(data.get("points") or 0) for data in events),
        "unsubscribe_url": (member or {}).get("unsubscribe_url"),
    }


def wording(session, channel, event_type: str, program_slug: str) -> dict:
    """The program's wording for one event type: its own parts where it has them, the channel's default elsewhere."""
    default = channel.templates[event_type]
    own = session.scalar(
        select(MessageTemplate)
        .join(Program, Program.id == MessageTemplate.program_id)
        .where(
            Program.slug == program_slug, MessageTemplate.channel == channel.name, MessageTemplate.kind == event_type
        )
    )
    return {
        "subject": (own.subject if own and own.subject else default.subject),
        "text": (own.text if own and own.text else default.text),
        "html": (own.html if own and own.html else default.html),
    }


def render(parts: dict, values: dict) -> dict:
    """Render a wording's parts with ``values``; ``subject`` on one line."""
    subject = TEXT.from_string(parts["subject"]).render(values)
    return {
        "subject": " ".join(subject.split()),
        "text": TEXT.from_string(parts["text"]).render(values),
        "html": HTML.from_string(parts["html"]).render(values) if parts.get("html") else None,
    }


def compose(session, channel, event_type: str, *, program: dict, member: dict | None, payloads) -> dict:
    """The rendered message for one delivery."""
    return render(
        wording(session, channel, event_type, program["slug"]),
        context(program=program, member=member, payloads=payloads),
    )
