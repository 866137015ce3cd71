"""marshmallow schemas of the API's requests and responses, one module per resource.

Text fields come from :func:`text`, whose rules are patterns so that the
OpenAPI document states them too (clients and schemathesis see exactly
what is refused).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

#: What Python's ``str.strip()`` removes, spelled out: ``\s`` differs
#: between Python and the ECMA regexes OpenAPI tools use.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def text(*, max_length: int, blank: bool = False, **kwargs) -> fields.String:
    """A string without NUL characters (PostgreSQL cannot store them) and, unless ``blank``, not only whitespace."""
    if blank:
        pattern, error = r"^[^\x00]*$", "must not contain NUL characters"
    else:
        pattern, error = f"^[{WHITESPACE}]*[^{WHITESPACE}\\x00][^\\x00]*$", "must not be blank or contain NUL characters"
    rules = [validate.Length(min=0 if blank else 1, max=max_length), validate.Regexp(pattern, error=error)]
    return fields.String(validate=rules, **kwargs)


class PageArgs(Schema):
    """``limit`` and the opaque ``cursor`` every list takes (pages follow row ids, newest first)."""

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-z]{1,12}$"),
                           metadata={"description": "The `next_cursor` of the previous page (opaque)."})
