"""The admin's E-mail page with Flask's test client: SMTP's state, the sender, templates checked and previewed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.messages import outbox, sending
from loyalty.models import AuditEntry, Destination, MessageTemplate
from tests.helpers.admin import Browser, browser, shop, users  # noqa: F401 (fixtures)

PAGE = "/admin/acme/email"
TEMPLATE = "/admin/acme/email/points.earned"
PREVIEW = "/admin/acme/email/points.earned/preview"


class Person(Browser):
    """Takes the CSRF token from the page each action belongs to (the reset and disable forms are POST only)."""

    def token(self, path) -> str:
        if path.endswith(("/reset", "/preview")):
            path = path.rsplit("/", 1)[0]
        if path.endswith("/disable"):
            path = PAGE
        return super().token(path)


def signed_in(app, email) -> Person:
    person = Person(app)
    assert person.sign_in(email).status_code == 302
    return person


@pytest.fixture
def owner(app, users):
    return signed_in(app, "owner@example.com")


@pytest.fixture
def manager(app, users):
    return signed_in(app, "manager@example.com")


@pytest.fixture
def viewer(app, users):
    return signed_in(app, "viewer@example.com")


def destination(session):
    session.expire_all()
    row = session.scalar(select(Destination).where(Destination.channel == "email"))
    session.rollback()
    return row


def text(answer) -> str:
    return answer.get_data(as_text=True)


class TestSmtpAndSender:
    def test_without_smtp_the_page_says_no_email_is_sent(self, app, owner):
        app.config.update(SMTP_URL=None, PUBLIC_URL=None)
        page = text(owner.get(PAGE))
        assert "SMTP is not configured (SMTP_URL is not set): no e-mail is sent" in page
        assert "LOYALTY_PUBLIC_URL is not set" in page
        assert 'href="/admin/acme/email"' in text(owner.get("/admin/acme/"))

    def test_with_smtp_the_host_shows_and_never_the_password(self, app, owner):
        app.config.update(SMTP_URL="smtps://robot:hunter2@mail.example", PUBLIC_URL="https://l.example")
        page = text(owner.get(PAGE))
        assert "Sending through mail.example:465 (TLS) as robot" in page and "hunter2" not in page

    def test_a_manager_switches_it_on_and_off_with_the_six_events(self, app, session, manager):
        answer = manager.post(PAGE, {"from_address": "rewards@acme.example", "from_name": "Acme", "reply_to": ""})
        assert answer.status_code == 302
        row = destination(session)
        assert row.status == "active" and row.config == {"from_address": "rewards@acme.example", "from_name": "Acme"}
        assert len(row.events) == 6
        assert 'id="email-state">on<' in text(manager.get(PAGE))
        assert manager.post("/admin/acme/email/disable").status_code == 302
        assert destination(session).status == "disabled"
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions[-2:] == ["email.enable", "email.disable"]

    def test_a_wrong_address_is_shown_by_its_field_and_nothing_is_saved(self, session, owner):
        answer = owner.post(PAGE, {"from_address": "not an address", "reply_to": "x\r\ny"})
        page = text(answer)
        assert answer.status_code == 200 and "Not saved" in page
        assert page.count('<small class="flash error">Not a valid email address.</small>') == 2
        assert 'value="not an address"' in page
        assert destination(session) is None

    def test_a_viewer_sees_but_changes_nothing(self, session, viewer):
        assert viewer.get(PAGE).status_code == 200
        assert viewer.post(PAGE, {"from_address": "a@acme.example"}).status_code == 403
        assert viewer.post(TEMPLATE, {"subject": "x"}).status_code == 403
        assert destination(session) is None

    def test_another_programs_manager_gets_a_404(self, app, users):
        assert signed_in(app, "limited@example.com").get(PAGE).status_code == 404


class TestTemplates:
    def test_saving_a_subject_keeps_it_and_the_next_email_uses_it(self, app, session, registry, clock, manager):
        answer = manager.post(TEMPLATE, {"subject": "{{ points }} for you, {{ member.name }}", "text": "", "html": ""})
        assert answer.status_code == 302
        own = session.scalar(select(MessageTemplate))
        assert (own.kind, own.subject, own.text) == ("points.earned", "{{ points }} for you, {{ member.name }}", None)
        assert "the program&#39;s own" in text(manager.get(PAGE))

    def test_a_broken_template_is_refused_with_the_message_under_its_field(self, session, manager):
        answer = manager.post(TEMPLATE, {"subject": "ok", "text": "{{ membr.name }}", "html": "{% if %}"})
        page = text(answer)
        assert answer.status_code == 422
        assert "&#39;membr&#39; is undefined" in page and "line 1: Expected an expression" in page
        assert "{{ membr.name }}" in page  # what was typed is kept
        assert session.scalar(select(MessageTemplate)) is None

    def test_a_template_reaching_for_internals_is_refused(self, session, manager):
        answer = manager.post(TEMPLATE, {"subject": "{{ ''.__class__.__mro__ }}", "text": "", "html": ""})
        assert answer.status_code == 422 and "not allowed" in text(answer)
        assert session.scalar(select(MessageTemplate)) is None

    def test_reset_goes_back_to_the_default(self, session, manager):
        manager.post(TEMPLATE, {"subject": "Mine", "text": "", "html": ""})
        assert manager.post(f"{TEMPLATE}/reset").status_code == 302
        session.expire_all()
        assert session.scalar(select(MessageTemplate)) is None
        assert "You earned {{ points | points }}" in text(manager.get(TEMPLATE))

    def test_an_unknown_kind_is_a_404(self, manager):
        assert manager.get("/admin/acme/email/points.released").status_code == 404
        assert manager.get("/admin/acme/email/nothing%00here").status_code in (400, 404)


class TestPreview:
    def test_the_saved_wording_for_a_made_up_member_in_a_sandboxed_frame(self, viewer):
        answer = viewer.get(PREVIEW)
        page = text(answer)
        assert answer.status_code == 200 and "You earned 170 points" in page and "Ada Lovelace" in page
        policy = answer.headers["Content-Security-Policy"]
        assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
        assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"

    def test_unsaved_parts_for_a_real_member_and_errors_by_part(self, viewer):
        page = text(
            viewer.post(PREVIEW, {"subject": "Hi {{ member.name }}", "text": "", "html": "", "member": "c-ann"})
        )
        assert "Hi Ann Archer" in page and "ann@example.com" in page
        page = text(viewer.post(PREVIEW, {"subject": "s", "text": "", "html": "{{ nope }}", "member": "c-nobody"}))
        assert "No member c-nobody" in page and "<b>html</b>: &#39;nope&#39; is undefined" in page

    def test_a_member_named_like_an_attack_is_shown_as_text(self, viewer):
        page = text(viewer.post(PREVIEW, {"subject": "", "text": "", "html": "", "member": "c-evil"}))
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_latest_emails_show_why_they_were_skipped(app, session, registry, clock, shop, owner):
    app.config.update(SMTP_URL=None)
    owner.post(PAGE, {"from_address": "rewards@acme.example"})
    from loyalty.programs.members import find_member

    ann = find_member(session, shop, "c-ann")
    outbox.record(session, shop.id, "member.enrolled", at=clock.now(), member_id=ann.id)
    session.commit()
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    session.commit()
    page = text(owner.get(PAGE))
    assert "member.enrolled" in page and "skipped" in page and "SMTP is not configured" in page
