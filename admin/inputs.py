"""What the admin takes from addresses and forms, checked in one place before any view or query sees it.

* Ids in the path (``/rules/<id:rule_id>``) use the ``id`` converter: a
  positive 64-bit integer, like every row id (:func:`loyalty.db.is_id`);
  anything larger matches no page (404) instead of overflowing the
  database's integer.
* Ids in the query or a form (``?before=`` cursors, a reward's or a
  referral's id): :func:`given_id`, 400 with a message when not an id.
* Control characters (NUL, CR, LF, …) anywhere in the path or the query,
  and NUL in a form's fields, are refused with 400 before the view runs:
  PostgreSQL cannot store a NUL, and no admin address has a newline (one in
  ``?next=`` would be a header injection in the redirect after sign-in).
"""

from __future__ import annotations

import re

from flask import abort, request
from werkzeug.routing import IntegerConverter

from loyalty.db import is_id

#: C0 controls and DEL.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IdConverter(IntegerConverter):
    """``<id:name>``: 1 to 2**63 - 1; other numbers do not match the rule."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=2**63 - 1)


def refuse_control_characters() -> None:
    """``before_request`` of the admin blueprint."""
    query = [text for key, values in request.args.lists() for text in (key, *values)]
    if CONTROL.search(request.path) or any(CONTROL.search(text) for text in query):
        abort(400, "The address contains a control character (NUL, CR, LF…): nothing was done.")
    if request.method == "POST" and any(
        "\x00" in text for key, values in request.form.lists() for text in (key, *values)
    ):
        abort(400, "A field contains a NUL character: nothing was done.")


def given_id(values, name: str) -> int | None:
    """The id named ``name`` in ``values`` (``request.args`` or ``request.form``); ``None`` if not given."""
    value = values.get(name, "")
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and is_id(int(value))):
        abort(400, f"{name}={value[:40]!r} is not a valid id.")
    return int(value)


def is_whole_number(text: str) -> bool:
    """``12`` or ``-3`` in ASCII digits: what ``int()`` reads. (``str.isdigit`` also says yes to ``¹`` or ``٣``,
    which ``int`` refuses or reads otherwise: a 500 where a form needs a clear error.)"""
    digits = text.removeprefix("-")
    return digits.isascii() and digits.isdigit()
