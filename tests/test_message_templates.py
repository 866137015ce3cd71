"""Program-written templates: checked before they are saved, previewed on a sample member, kept sandboxed.

Program managers write these, so a template that reaches for Python's
internals or tries to stall the sender is refused, and one that fails on
an event's real data falls back to the default instead of stopping the
sender.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import UndefinedError
from sqlalchemy import select

from loyalty.messages import templates
from loyalty.messages.templates import InvalidTemplate
from loyalty.models import MessageTemplate
from loyalty.plugins.channels.email import EMAIL

KINDS = list(EMAIL.templates)
PROGRAM = {"slug": "acme", "name": "Acme", "currency": "USD"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_default_passes_its_own_check_and_renders_with_less_data_than_the_sample(kind):
    default = templates.default_wording(EMAIL, kind)
    assert templates.check(default, event_type=kind) == default
    rendered = templates.render(default, templates.sample_context(kind))
    assert rendered["subject"] and "\n" not in rendered["subject"]
    assert "Ada Lovelace" in rendered["text"] and "Ada Lovelace" in rendered["html"]
    bare = templates.context(program=PROGRAM, member={"email": "x@example.com"}, payloads=[{"data": {}}])
    assert templates.render(default, bare)["subject"]  # an event with none of the optional fields


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "not allowed: access to attribute '__class__'"),
        ("{{ member.__class__.__init__.__globals__ }}", "not allowed"),
        ("{{ event.items.__self__ }}", "not allowed"),
        ("{{ 'x' * 100000000 }}", "a repetition longer than"),
        ("{{ 9 ** 999999 }}", "powers above"),
        ("{% for i in range(999999999) %}{% endfor %}", "Range too big"),
        ("Hello {{ membr.name }}", "'membr' is undefined"),
        ("{{ event.nonsense }}", "has no attribute 'nonsense'"),
        ("{% if points %}no end", "line 1: Unexpected end of template"),
        ("{{ points | nofilter }}", "No filter named 'nofilter'"),
    ],
)
def test_a_template_that_reaches_for_internals_loops_forever_or_does_not_render_is_refused(source, message):
    with pytest.raises(InvalidTemplate) as refused:
        templates.check({"subject": "ok", "text": source}, event_type="points.earned")
    assert list(refused.value.problems) == ["text"]
    assert message in refused.value.problems["text"][0]


def test_the_sandbox_renders_internals_harmless_even_unchecked():
    values = templates.sample_context("points.earned")
    with pytest.raises(Exception) as refused:
        templates.render({"subject": "{{ ''.__class__.__mro__ }}", "text": "x"}, values)
    assert "unsafe" in str(refused.value)
    html = templates.render({"subject": "s", "text": "t", "html": "{{ member.name }}"}, {"member": {"name": "<b>"}})
    assert html["html"] == "&lt;b&gt;"  # HTML is escaped; the plain text is not HTML


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.text(max_size=80))
def test_any_text_is_saved_or_refused_with_a_message_never_an_exception(source):
    try:
        kept = templates.check({"subject": "s", "text": source}, event_type="reward.redeemed")
    except InvalidTemplate as exc:
        assert exc.problems["text"] and all(isinstance(m, str) for m in exc.problems["text"])
    else:
        assert set(kept) <= {"subject", "text"}


def test_save_keeps_only_what_differs_from_the_default_and_reset_goes_back(session, program, clock):
    default = templates.default_wording(EMAIL, "points.earned")
    own = templates.save(
        session,
        EMAIL,
        "points.earned",
        program,
        {"subject": "{{ points }} more points, {{ member.name }}!", "text": default["text"], "html": "  "},
        at=clock.now(),
    )
    session.commit()
    assert (own.subject, own.text, own.html) == ("{{ points }} more points, {{ member.name }}!", None, None)
    wording = templates.wording(session, EMAIL, "points.earned", "acme")
    assert wording == {**default, "subject": own.subject}
    with pytest.raises(InvalidTemplate):
        templates.save(session, EMAIL, "points.earned", program, {"subject": "{{ oops"}, at=clock.now())
    session.rollback()
    assert templates.wording(session, EMAIL, "points.earned", "acme")["subject"] == own.subject  # unchanged
    assert templates.reset(session, EMAIL.name, "points.earned", program) is True
    session.commit()
    assert session.scalar(select(MessageTemplate)) is None
    assert templates.reset(session, EMAIL.name, "points.earned", program) is False


def test_a_kind_the_channel_has_no_words_for_is_refused(session, program, clock):
    with pytest.raises(InvalidTemplate) as refused:
        templates.save(session, EMAIL, "points.released", program, {"subject": "x"}, at=clock.now())
    assert "kind" in refused.value.problems


def test_preview_uses_a_real_member_or_a_made_up_one_and_unsaved_parts(app, session, program, loyalty_enrol):
    made_up = templates.preview(session, EMAIL, "tier.changed", program=program)
    assert made_up["subject"] == "You reached Gold" and "Ada Lovelace" in made_up["text"]
    ann = loyalty_enrol("c-ann", email="ann@example.com", name="Ann")
    app.config["PUBLIC_URL"] = "https://loyalty.example"
    real = templates.preview(
        session,
        EMAIL,
        "tier.changed",
        program=program,
        member=ann,
        parts={"subject": "{{ member.name }} is {{ event.to.name }}"},
        settings=app.config,
    )
    assert real["subject"] == "Ann is Gold" and "Hello Ann," in real["text"]
    assert f"/messages/v1/acme/unsubscribe/{ann.id}/" in real["html"]
    with pytest.raises(InvalidTemplate) as refused:
        templates.preview(session, EMAIL, "tier.changed", program=program, parts={"html": "{{ nope }}"})
    assert list(refused.value.problems) == ["html"]


def test_a_saved_template_that_fails_on_real_data_raises_for_the_sender_and_a_default_never_does(
    session, program, clock
):
    templates.save(session, EMAIL, "reward.redeemed", program, {"subject": "Code {{ event.code }}"}, at=clock.now())
    session.commit()
    bare = {"program": PROGRAM, "member": {"name": "A"}, "payloads": [{"data": {}}]}
    with pytest.raises(UndefinedError):  # the sender fails this delivery with the reason (test_messages_outbox)
        templates.compose(session, EMAIL, "reward.redeemed", **bare)
    templates.reset(session, EMAIL.name, "reward.redeemed", program)
    session.commit()
    assert templates.compose(session, EMAIL, "reward.redeemed", **bare)["subject"] == "Your reward"
