"""docs/email.md stays true: every e-mail, every sample field the templates are checked against, every route."""

from __future__ import annotations

import json
from pathlib import Path

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
