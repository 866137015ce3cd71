"""docs/email.md stays true: every e-mail, every sample field the templates are checked against, every route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loyalty.messages import samples
from loyalty.plugins.channels.email import EMAIL

DOC = (Path(__file__).parent.parent / "docs" / "email.md").read_text(encoding="utf-8")


def test_every_email_and_its_sample_data_is_documented():
    for kind in EMAIL.templates:
        assert f"| `{kind}` |" in DOC, kind
        assert f"`{json.dumps(samples.EVENTS[kind][0], ensure_ascii=False)}`" in DOC, kind


def test_the_documented_names_are_those_a_template_gets():
    from loyalty.messages.templates import sample_context

    for name in sample_context("points.earned"):
        assert f"`{name}" in DOC, name
    for name in ("PATCH /api/v1/members/{external_id}", "PUT /member/v1/{program}/me/subscription", "SMTP_URL"):
        assert name in DOC


EVENTS_DOC = Path(__file__).parent.parent / "docs" / "events.md"


def _catalog_examples() -> dict[str, dict]:
    """Each type's example ``data`` in docs/events.md (the catalog): the ``json`` block after its heading."""
    text = EVENTS_DOC.read_text(encoding="utf-8")
    found = {}
    for kind, block in re.findall(r"^### `([a-z]+\.[a-z]+)`.*?```json\n(.*?)\n```", text, re.S | re.M):
        found[kind] = json.loads(block)["data"]
    return found


def test_the_sample_data_templates_are_checked_against_has_the_catalogs_fields():
    """A program's template is checked on samples.EVENTS: they must carry what real events carry, no more, no less."""
    if not EVENTS_DOC.exists():
        pytest.skip("docs/events.md (the event catalog) is not on this branch")
    examples = _catalog_examples()
    for kind in EMAIL.templates:
        real = {key for key in examples[kind] if key != "member"}
        assert set(samples.EVENTS[kind][0]) == real, kind
