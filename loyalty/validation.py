"""Schema errors as people read them: per field, never a Python dict.

A plugin's config (a rule's, a tier scheme's, a reward's, a referral
check's) and the referral terms are validated by marshmallow, whose
messages are nested dicts and lists (``{"steps": {0: {"spend": [...]}}}``).
Everything that shows them (the CLI's errors, the admin's flash and the
message beside each field, the API's ``errors``) goes through here, so
they read the same everywhere: ``window_days: Must be greater than or
equal to 1.``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty import errors

if TYPE_CHECKING:  # only a hint: a command that validates nothing imports no marshmallow (tests/test_cli_start.py)
    from marshmallow import ValidationError


def describe(messages) -> str:
    """``field: message; other: message``, nested fields joined by dots (``steps.0.spend: …``)."""
    return "; ".join(f"{path}: {message}" if path else message for path, message in _lines(messages))


def per_field(messages) -> dict[str, list[str]]:
    """The messages of each top-level field as sentences (nested ones prefixed by their path), for forms."""
    if not isinstance(messages, dict):
        return {"_schema": [message for _, message in _lines(messages)]}
    return {
        str(field): [f"{path}: {message}" if path else message for path, message in _lines(nested)]
        for field, nested in messages.items()
    }


def invalid(what: str, exc: ValidationError, *, within: str | None = None) -> errors.InvalidInput:
    """The :class:`~loyalty.errors.InvalidInput` for ``exc``: ``invalid <what>: field: message``, fields per field.

    ``within`` nests the fields under one name (a referral check's settings
    under the check's name).
    """
    fields = per_field(exc.messages)
    return errors.InvalidInput(
        f"invalid {what}: {describe(exc.messages)}", fields={within: fields} if within else fields
    )


class Problems:
    """Every problem of an input, by field, so that one answer lists them all.

    A form shows each message by its input, all at once, instead of the
    first one alone, and the CLI's and the API's message lists them in one
    line. Each check is a function that raises
    :class:`~loyalty.errors.InvalidInput`; :meth:`check` keeps its message
    under the field and hands back ``None``, and :meth:`raise_any` raises
    one error with all of them (``details["fields"]``)::

        problems = Problems("tier")
        rank = problems.check("rank", whole_rank, rank)
        ...
        problems.raise_any()
    """

    def __init__(self, what: str):
        self.what = what
        self.fields: dict[str, list[str]] = {}

    def check(self, field: str, check, *args, **kwargs):
        try:
            return check(*args, **kwargs)
        except errors.InvalidInput as exc:
            self.add(field, exc.message)
            return None

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if self.fields:
            said = "; ".join(message for messages in self.fields.values() for message in messages)
            raise errors.InvalidInput(f"invalid {self.what}: {said}", fields=self.fields)


def _lines(messages, path: str = ""):
    if isinstance(messages, dict):
        for key, nested in messages.items():
            yield from _lines(nested, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            if messages:
                yield path, " ".join(messages)
        else:
            for nested in messages:
                yield from _lines(nested, path)
    else:
        yield path, str(messages)
