"""Message wording: a channel's default templates, a program's own, rendered in Jinja's sandbox.

Program managers write these templates, so they are rendered in
:class:`jinja2.sandbox.SandboxedEnvironment` (no attribute of Python's
internals is reachable: ``{{ ''.__class__ }}`` is refused) with a context
of plain values only: the member, the program, the event's data, and for
a digest every event it carries. The sandbox also refuses to build huge
strings or numbers (``'x' * 10**9``): a template cannot stall a sender.

A program's template is checked before it is saved (:func:`check`): it
must parse, and render against sample data of its event type with
nothing undefined, so a typo is an error in the admin rather than a
broken e-mail. Should one still break on an event's real data,
:func:`compose` raises and the sender fails that delivery with the
reason; a channel's default wording that meets less data than it reads
renders what it has.
"""

from __future__ import annotations

import operator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import delete, select

from loyalty import errors
from loyalty.messages import samples, unsubscribe
from loyalty.models import MessageTemplate, Program
from loyalty.wording import points_text

PARTS = ("subject", "text", "html")
#: The longest part a program may save (characters): a subject is a line, a body an e-mail.
MAX_LENGTH = {"subject": 500, "text": 50_000, "html": 200_000}
#: The longest string or list a template may make by repetition, and the largest power.
MAX_REPEAT = 100_000
MAX_EXPONENT = 100


class InvalidTemplate(errors.InvalidInput):
    """A template that cannot be saved; ``problems`` (also ``details["fields"]``) maps each part to its messages."""

    def __init__(self, problems: dict[str, list[str]]):
        self.problems = problems
        message = "; ".join(f"{part}: {' '.join(messages)}" for part, messages in problems.items())
        super().__init__(f"the template was not saved: {message}", fields=problems)


def _points(value) -> str:
    try:
        return points_text(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _date(value) -> str:
    """``"3 December 2026"`` from an ISO date or date-time (what events carry); anything else as it is."""
    if isinstance(value, datetime | date):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    return f"{moment.day} {moment:%B %Y}"


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, with ``*`` and ``**`` bounded."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"powers above {MAX_EXPONENT} are not allowed")
            return operator.pow(left, right)
        sizes = [len(side) for side in (left, right) if isinstance(side, str | list | tuple)]
        counts = [side for side in (left, right) if isinstance(side, int)]
        if sizes and counts and sizes[0] * max(counts) > MAX_REPEAT:
            raise SecurityError(f"a repetition longer than {MAX_REPEAT} is not allowed")
        return operator.mul(left, right)


def _environment(*, autoescape: bool, undefined) -> Sandbox:
    # trim_blocks/lstrip_blocks: a line holding only {% if %} leaves no blank line in a plain-text e-mail.
    env = Sandbox(
        autoescape=autoescape, undefined=undefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(points=_points, date=_date)
    return env


TEXT = _environment(autoescape=False, undefined=StrictUndefined)
HTML = _environment(autoescape=True, undefined=StrictUndefined)
#: For the last resort only: a default template that meets an event with less data renders what it has.
LENIENT = {False: _environment(autoescape=False, undefined=ChainableUndefined)}
LENIENT[True] = _environment(autoescape=True, undefined=ChainableUndefined)


def context(*, program: dict, member: dict | None, payloads) -> dict:
    """What a template can use: ``member``, ``program``, ``event`` (the first event's data), ``events``, ``points``."""
    events = [payload["data"] for payload in payloads]
    return {
        "member": member or {},
        "program": program,
        "event": events[0] if events else {},
        "events": events,
        "points": sum(_number(data.get("points")) for data in events),
        "unsubscribe_url": (member or {}).get("unsubscribe_url"),
    }


def _number(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def sample_context(event_type: str | None, *, program: dict | None = None, member: dict | None = None) -> dict:
    """The context of a check or a preview: sample events of the type, for ``member`` (else a made-up one)."""
    who = member if member is not None else {**samples.MEMBER, "unsubscribe_url": samples.UNSUBSCRIBE_URL}
    return context(program=program or samples.PROGRAM, member=who, payloads=samples.payloads(event_type))


def own_template(session, channel_name: str, event_type: str, program_id: int) -> MessageTemplate | None:
    return session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.program_id == program_id,
            MessageTemplate.channel == channel_name,
            MessageTemplate.kind == event_type,
        )
    )


def wording(session, channel, event_type: str, program_slug: str) -> dict:
    """The program's wording for one event type: its own parts where it has them, the channel's default elsewhere."""
    program_id = session.scalar(select(Program.id).where(Program.slug == program_slug))
    own = own_template(session, channel.name, event_type, program_id) if program_id is not None else None
    return merged(channel.templates[event_type], own)


def merged(default, own) -> dict:
    return {part: (getattr(own, part, None) if own else None) or getattr(default, part) for part in PARTS}


def default_wording(channel, event_type: str) -> dict:
    return merged(channel.templates[event_type], None)


def render(parts: dict, values: dict, *, lenient: bool = False) -> dict:
    """Render a wording's parts with ``values``; ``subject`` on one line."""
    text, html = (LENIENT[False], LENIENT[True]) if lenient else (TEXT, HTML)
    subject = text.from_string(parts["subject"]).render(values)
    return {
        "subject": " ".join(subject.split()),
        "text": text.from_string(parts["text"]).render(values),
        "html": html.from_string(parts["html"]).render(values) if parts.get("html") else None,
    }


def compose(session, channel, event_type: str, *, program: dict, member: dict | None, payloads) -> dict:
    """The rendered message for one delivery.

    A program's own template that fails on this event's data raises (the
    sender records it as the delivery's failure, with the reason, for the
    admin to see); the channel's default wording never does: should an
    event carry less than it reads, it renders what there is.
    """
    values = context(program=program, member=member, payloads=payloads)
    parts = wording(session, channel, event_type, program["slug"])
    if parts != default_wording(channel, event_type):
        return render(parts, values)
    try:
        return render(parts, values)
    except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError):
        return render(parts, values, lenient=True)


def _problem(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    message = getattr(exc, "message", None) or str(exc)
    return f"{message} (the names a template can use are in docs/email.md)"


def check(parts: dict, *, event_type: str | None = None, values: dict | None = None) -> dict:
    """The parts as they would be saved (blank ones left out), or :class:`InvalidTemplate` with each part's problems.

    Each part must be at most :data:`MAX_LENGTH`, parse, and render with
    ``values`` (by default the sample data of ``event_type``) using no
    undefined name and nothing the sandbox refuses.
    """
    values = values if values is not None else sample_context(event_type)
    problems: dict[str, list[str]] = {}
    kept = {}
    for part in PARTS:
        source = parts.get(part)
        if source is None or not str(source).strip():
            continue
        source = str(source).replace("\r\n", "\n")
        if len(source) > MAX_LENGTH[part]:
            problems[part] = [f"at most {MAX_LENGTH[part]} characters"]
            continue
        if "\x00" in source:
            problems[part] = ["must not contain NUL characters"]
            continue
        env = HTML if part == "html" else TEXT
        try:
            env.from_string(source).render(values)
        except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            problems[part] = [_problem(exc)]
            continue
        kept[part] = source
    if problems:
        raise InvalidTemplate(problems)
    return kept


def preview(session, channel, event_type: str, *, program: Program, member=None, parts=None, settings=None) -> dict:
    """The e-mail ``parts`` (else the program's wording) make for ``member`` (else a made-up one), on sample data.

    Raises :class:`InvalidTemplate` when the parts do not render.
    """
    wording_parts = merged(channel.templates[event_type], own_template(session, channel.name, event_type, program.id))
    for part, source in (parts or {}).items():
        if source is not None and str(source).strip():
            wording_parts[part] = str(source).replace("\r\n", "\n")
    member_data = samples.member(member)
    member_data["unsubscribe_url"] = (
        unsubscribe.link(settings or {}, program, member) if member is not None else None
    ) or samples.UNSUBSCRIBE_URL
    values = sample_context(
        event_type,
        program={"slug": program.slug, "name": program.name, "currency": program.currency},
        member=member_data,
    )
    check(wording_parts, values=values)
    return render(wording_parts, values)


def save(session, channel, event_type: str, program: Program, parts: dict, *, at: datetime) -> MessageTemplate | None:
    """Check and keep the program's own parts of one template (a part left blank is the default's); the caller commits.

    Parts equal to the default are not kept either, so the program follows
    later improvements of the default. Nothing left: the row is removed.
    """
    if event_type not in channel.templates:
        raise InvalidTemplate({"kind": [f"{channel.name} has no template for {event_type}"]})
    kept = check(parts, event_type=event_type)
    default = default_wording(channel, event_type)
    kept = {part: source for part, source in kept.items() if source != default[part]}
    own = own_template(session, channel.name, event_type, program.id)
    if not kept:
        if own is not None:
            session.delete(own)
        return None
    if own is None:
        own = MessageTemplate(program_id=program.id, channel=channel.name, kind=event_type)
        session.add(own)
    for part in PARTS:
        setattr(own, part, kept.get(part))
    own.updated_at = at
    session.flush()
    return own


def reset(session, channel_name: str, event_type: str, program: Program) -> bool:
    """Back to the channel's default wording; whether the program had its own. The caller commits."""
    done = session.execute(
        delete(MessageTemplate).where(
            MessageTemplate.program_id == program.id,
            MessageTemplate.channel == channel_name,
            MessageTemplate.kind == event_type,
        )
    )
    return bool(done.rowcount)
