"""Forms generated from a plugin's marshmallow schema: the fields to show, and the posted values back.

Any rule type, scheme or reward type a plugin contributes gets its form
this way, with no template of its own; the schema stays the one judge of
what is valid (the values are handed back to it, errors and all).

A field's words come from its metadata (docs/plugins.md, "Forms"):
``label`` for the field, ``labels`` for a choice's options
(``{"after_grace": "After a grace period"}``), ``description`` for the
hint. Without them the field's name and each value are written out
("grace_days" reads "Grace days"), never shown as the raw identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from marshmallow import fields, missing, validate

from loyalty.admin.inputs import is_whole_number
from loyalty.admin.times import from_input, to_input
from loyalty.wording import plain_number

KINDS = (
    (fields.Boolean, "bool"),
    (fields.Integer, "int"),
    (fields.Decimal, "decimal"),
    (fields.Float, "decimal"),
    (fields.List, "list"),
    (fields.AwareDateTime, "datetime"),
    (fields.DateTime, "datetime"),
    (fields.Date, "date"),
)


def spelled_out(identifier: str) -> str:
    """``"after_grace"`` as ``"After grace"``: an identifier nobody gave words for, in words."""
    return str(identifier).replace("_", " ").strip().capitalize()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # bool, int, decimal, list, date, datetime, choice, text
    required: bool
    default: object
    choices: tuple
    description: str
    label: str = ""
    choice_labels: tuple = ()  # (value, words) for each of ``choices``

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", spelled_out(self.name))

    def option_label(self, value) -> str:
        """The words for one of ``choices``."""
        return dict(self.choice_labels).get(value) or spelled_out(value)

    def words(self, value, program=None) -> str:
        """A stored value as a manager reads it in a list: "yes", "Round down", "none", "1.5", a time in the
        program's zone."""
        if value is None or value is missing or value == [] or value == "":
            return "none"
        if self.kind == "datetime" and program is not None:
            shown = to_input(value, program).replace("T", " ")
            return f"{shown} ({program.timezone})" if shown else "none"
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.kind == "choice":
            return self.option_label(value)
        if self.kind == "list":
            return ", ".join(map(str, value))
        if self.kind in ("int", "decimal"):
            try:
                return plain_number(Decimal(str(value)))
            except InvalidOperation:
                return str(value)
        return str(value)

    def shown(self, value, program=None) -> str:
        """A stored or default value as the input shows it (a moment as its ``datetime-local`` value, in the
        program's zone)."""
        if value is None or value is missing:
            return ""
        if self.kind == "datetime" and program is not None:
            return to_input(value, program)
        if self.kind == "list":
            return ", ".join(map(str, value))
        return str(value)


def in_words(specs: list[FieldSpec], config: dict, *, program) -> list[tuple[str, str]]:
    """``(label, words)`` for each setting of a stored config, the schema's default where it has none."""
    return [(spec.label, spec.words(config.get(spec.name, spec.default), program)) for spec in specs]


def fields_of(schema_class) -> list[FieldSpec]:
    specs = []
    for name, field in schema_class().fields.items():
        if field.dump_only:
            continue
        kind = next((label for cls, label in KINDS if isinstance(field, cls)), "text")
        choices = next((tuple(v.choices) for v in _validators(field) if isinstance(v, validate.OneOf)), ())
        if choices:
            kind = "choice"
        default = field.load_default() if callable(field.load_default) else field.load_default
        labels = field.metadata.get("labels") or {}
        specs.append(
            FieldSpec(
                name,
                kind,
                field.required,
                default,
                choices,
                field.metadata.get("description", ""),
                label=field.metadata.get("label", ""),
                choice_labels=tuple((choice, labels.get(choice) or spelled_out(choice)) for choice in choices),
            )
        )
    return specs


def values_from(form, specs: list[FieldSpec], prefix: str = "config.", *, program) -> dict:
    """The posted values, typed as the schema expects them; empty ones left out (the schema's default applies).

    A date and time (a ``datetime-local`` input) was typed in the program's zone: it is handed to the schema
    as ISO 8601 with that zone's offset.
    """
    values = {}
    for spec in specs:
        key = prefix + spec.name
        if spec.kind == "bool":
            values[spec.name] = key in form
            continue
        raw = (form.get(key) or "").strip()
        if not raw:
            continue
        if spec.kind == "list":
            values[spec.name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif spec.kind == "int":
            values[spec.name] = int(raw) if is_whole_number(raw) else raw
        elif spec.kind == "datetime" and program is not None:
            values[spec.name] = from_input(raw, program)
        else:
            values[spec.name] = raw
    return values


def _validators(field):
    found = field.validators or []
    return found if isinstance(found, (list, tuple)) else [found]
