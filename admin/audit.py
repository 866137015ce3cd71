"""The audit log: every change a person made in the admin, newest first, each as a readable before and after.

Entries keep their ``before`` and ``after`` as JSON (what changed, by
field). The page writes them for people: one line per field that changed,
the old value struck through beside the new one, nested settings by their
path ("Config › Points per unit"), and the action as a sentence ("Rule
paused"), so a manager reads "who changed what" without reading JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from sqlalchemy import select

from loyalty.admin.access import admin_view
from loyalty.admin.blueprint import bp
from loyalty.admin.inputs import given_id
from loyalty.admin.schema_forms import spelled_out
from loyalty.db import db
from loyalty.models import AuditEntry

PAGE = 100
#: The longest value shown whole; longer ones (an e-mail template) end in "…", the rest is in the database.
LONGEST = 300

SUBJECTS = {
    "api_key": "API key",
    "storefront": "Store",
    "email": "E-mail",
    "outbound": "Outbound endpoint",
}
VERBS = {
    "add": "added",
    "update": "changed",
    "pause": "paused",
    "resume": "resumed",
    "create": "created",
    "revoke": "revoked",
    "approve": "approved",
    "reject": "rejected",
    "enable": "switched on",
    "disable": "switched off",
    "delete": "deleted",
    "archive": "archived",
    "connect": "connected",
    "disconnect": "disconnected",
    "replay": "replayed",
    "run": "run",
    "rotate": "secret rotated",
}
ACTIONS = {
    "member.adjust": "Points adjusted",
    "program.settings": "Settings changed",
    "tier.scheme": "Tier scheme chosen",
    "reward.import_codes": "Reward codes imported",
    "email.template": "E-mail template changed",
    "email.template_reset": "E-mail template reset to the default",
    "widget.looks": "Widget looks changed",
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None: the field was not there (something added)
    after: str | None  # None: the field went (something removed)


def action_words(action: str) -> str:
    """``rule.pause`` as "Rule paused"; an action nobody gave words for is spelled out."""
    if action in ACTIONS:
        return ACTIONS[action]
    subject, _, verb = action.partition(".")
    if verb in VERBS:
        return f"{SUBJECTS.get(subject) or spelled_out(subject)} {VERBS[verb]}"
    return spelled_out(action.replace(".", " "))


def target_words(target: str | None) -> str:
    """``rule:12`` as "Rule 12", ``storefront:shopify`` as "Store shopify"."""
    if not target:
        return ""
    kind, sep, name = target.partition(":")
    return f"{SUBJECTS.get(kind) or spelled_out(kind)} {name}" if sep else target


def value_words(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value_words(item) for item in value)
    text = str(value)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def changes(before: dict | None, after: dict | None) -> list[Change]:
    """What changed, field by field: those whose value differs, or that only one side has."""
    old, new = _flat(before or {}), _flat(after or {})
    fields = list(old) + [name for name in new if name not in old]
    return [
        Change(
            " › ".join(spelled_out(part) for part in name),
            value_words(old[name]) if name in old else None,
            value_words(new[name]) if name in new else None,
        )
        for name in fields
        if not (name in old and name in new and old[name] == new[name])
    ]


def _flat(values: dict, path: tuple = ()) -> dict[tuple, object]:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, (*path, str(key))))
        else:
            flat[(*path, str(key))] = value
    return flat


@bp.route("/<program_slug>/audit")
@admin_view()
def audit_log(program):
    query = select(AuditEntry).where(AuditEntry.program_id == program.id)
    before = given_id(request.args, "before")
    if before:
        query = query.where(AuditEntry.id < before)
    rows = list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(PAGE + 1)))
    return render_template(
        "admin/audit.html",
        program=program,
        entries=[(entry, changes(entry.before, entry.after)) for entry in rows[:PAGE]],
        next_before=rows[PAGE - 1].id if len(rows) > PAGE else None,
        action_words=action_words,
        target_words=target_words,
    )
