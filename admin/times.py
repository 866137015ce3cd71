"""Times as a program's people read and type them: in the program's time zone (storage stays UTC).

``{{ moment | local }}`` in a template writes a stored moment in the zone
of the page's program (``2026-03-01 09:30``), ``{{ zone_name() }}`` names
the zone for a column's heading; a date or time input of a plugin's form
is read back in the same zone (:func:`from_input`).
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import pass_context

from loyalty.admin.blueprint import bp
from loyalty.programs.zones import from_local, local

MINUTE = "%Y-%m-%d %H:%M"
#: What ``<input type="datetime-local">`` shows and posts.
INPUT = "%Y-%m-%dT%H:%M"


class _UTC:
    timezone = "UTC"


def _program(context):
    return context.get("program") or _UTC


@pass_context
def local_filter(context, moment: datetime | None, pattern: str = MINUTE) -> str:
    shown = local(moment, _program(context))
    return shown.strftime(pattern) if shown else ""


@pass_context
def zone_name(context) -> str:
    return _program(context).timezone or "UTC"


def to_input(moment, program) -> str:
    """A stored moment (a ``datetime`` or its ISO text) as a ``datetime-local`` input's value; ``""`` if none."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment  # shown as it was typed, for the schema to refuse
    shown = local(moment, program) if isinstance(moment, datetime) else None
    return shown.strftime(INPUT) if shown else ""


def from_input(text: str, program) -> str:
    """A ``datetime-local`` input's value, typed in the program's zone, as ISO 8601 with its offset.

    What is not such a value is handed back unchanged: the schema then says
    what is wrong with it, by its field.
    """
    try:
        naive = datetime.strptime(text, INPUT)
    except ValueError:
        try:
            naive = datetime.fromisoformat(text)
        except ValueError:
            return text
    if not 1900 <= naive.year <= 9000:  # no store's campaign; and near year 1 a zone's offset leaves the calendar
        return text
    if naive.tzinfo is not None:
        return naive.isoformat()
    return from_local(naive, program).isoformat()


bp.add_app_template_filter(local_filter, "local")
bp.add_app_template_global(zone_name, "zone_name")
