"""Forms generated from a plugin's marshmallow schema: the fields to show, and the posted values back.

Any rule type, scheme or reward type a plugin contributes gets its form
this way, with no template of its own; the schema stays the one judge of
what is valid (the values are handed back to it, errors and all).
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import fields, missing, validate

from loyalty.admin.inputs import is_whole_number

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


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # bool, int, decimal, list, date, datetime, choice, text
    required: bool
    default: object
    choices: tuple
    description: str

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    def shown(self, value) -> str:
        """A stored or default value as the input shows it."""
        if value is None or value is missing:
            return ""
        if self.kind == "list":
            return ", ".join(map(str, value))
        return str(value)


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
        specs.append(FieldSpec(name, kind, field.required, default, choices, field.metadata.get("description", "")))
    return specs


def values_from(form, specs: list[FieldSpec], prefix: str = "config.") -> dict:
    """The posted values, typed as the schema expects them; empty ones left out (the schema's default applies)."""
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
        else:
            values[spec.name] = raw
    return values


def _validators(field):
    found = field.validators or []
    return found if isinstance(found, (list, tuple)) else [found]
