"""marshmallow schemas of the API's requests and responses, one module per resource.

Text fields come from :func:`text`, whose rules are patterns so that the
OpenAPI document states them too (clients and schemathesis see exactly
what is refused).
"""

from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from loyalty.earning.event_checks import YEARS

#: What Python's ``str.strip()`` removes, spelled out: ``\s`` differs
#: between Python and the ECMA regexes OpenAPI tools use.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def text(*, max_length: int, blank: bool = False, **kwargs) -> fields.String:
    """A string without NUL characters (PostgreSQL cannot store them) and, unless ``blank``, not only whitespace."""
    if blank:
        pattern, error = r"^[^\x00]*$", "must not contain NUL characters"
    else:
        pattern, error = (
            f"^[{WHITESPACE}]*[^{WHITESPACE}\\x00][^\\x00]*$",
            "must not be blank or contain NUL characters",
        )
    rules = [validate.Length(min=0 if blank else 1, max=max_length), validate.Regexp(pattern, error=error)]
    return fields.String(validate=rules, **kwargs)


class WholeNumber(fields.Integer):
    """A JSON integer: ``10`` and ``10.0`` (JSON Schema's integers both), never ``"10"``, ``10.5`` or ``true``."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class JsonBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``, never ``"no"``, ``0`` or ``"1"`` (marshmallow's Boolean takes those)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class DecimalString(fields.Decimal):
    """An exact decimal, sent as a string (``"1.50"``) so no client reads it as a float.

    The document says ``type: string, format: decimal`` (see :mod:`loyalty.api.openapi`).
    """

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


#: The closed sets of values the API uses, by component name (see :class:`Choice`).
CHOICES: dict[str, tuple[str, ...]] = {}


class Choice(fields.String):
    """One of a closed set of strings, written once in the document as the enum ``component``.

    Every field and query parameter with the same set refers to that one
    component, so a generated client has one enum class for it.
    """

    def __init__(self, component: str, values, **kwargs):
        values = tuple(values)
        if CHOICES.setdefault(component, values) != values:
            raise ValueError(f"the enum {component} is already defined with other values")
        self.component = component
        super().__init__(validate=validate.OneOf(values), **kwargs)


class Moment(fields.AwareDateTime):
    """An aware date-time a client sends, in a year from 1900 to 8999, returned as UTC.

    Python's datetime ends at year 9999, so ``9999-12-31T23:59:59-14:00``
    parses but overflows once turned into UTC, and a moment near either end
    overflows as soon as a rule adds a window to it. The years are a
    ``pattern`` in the document too, so clients (and schemathesis) know.
    """

    FIRST_YEAR, LAST_YEAR = YEARS  # the pipeline's own bounds (loyalty.earning.event_checks)
    PATTERN = r"^(19[0-9]{2}|[2-8][0-9]{3})-"
    default_error_messages = {"range": f"must be in a year from {FIRST_YEAR} to {LAST_YEAR}"}

    def __init__(self, **kwargs):
        metadata = {"pattern": self.PATTERN, **kwargs.pop("metadata", {})}
        metadata["description"] = " ".join(
            filter(
                None,
                [
                    metadata.get("description"),
                    f"With a time zone, in a year from {self.FIRST_YEAR} to {self.LAST_YEAR}.",
                ],
            )
        )
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not self.FIRST_YEAR <= moment.year <= self.LAST_YEAR:
            raise self.make_error("range")
        return moment.astimezone(timezone.utc)


class PageArgs(Schema):
    """``limit`` and the opaque ``cursor`` every list takes (pages follow row ids, newest first)."""

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(
        validate=validate.Regexp(r"^[0-9a-z]{1,12}$"),
        metadata={"description": "The `next_cursor` of the previous page (opaque)."},
    )
