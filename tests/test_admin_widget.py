"""The admin's widget page with Flask's test client: who may do what, the secret shown once, the looks and texts.

The member API is asked too (``GET /member/v1/acme/me``), to show that what
the page does reaches shoppers: a rotated secret's tokens are refused at
once, a switched-off widget answers 403.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from loyalty.models import AuditEntry, WidgetSettings
from loyalty.widget.settings import masked
from loyalty.widget.texts import DEFAULT_TEXTS
from loyalty.widget.tokens import make_jwt
from tests.helpers.admin import Browser, browser, shop, users  # noqa: F401 (fixtures)

PAGE = "/admin/acme/widget"
ENABLE = "/admin/acme/widget/enable"
ORIGINS = "/admin/acme/widget/origins"
DISABLE = "/admin/acme/widget/disable"
ROTATE = "/admin/acme/widget/rotate"


class Person(Browser):
    """A :class:`Browser` that takes the CSRF token from the widget page (its actions are POST only)."""

    def token(self, path) -> str:
        return super().token(PAGE if path.startswith(PAGE) else path)


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


@pytest.fixture
def enabled(owner):
    """The widget switched on by the owner for one origin; the secret the answer showed."""
    answer = owner.post(ENABLE, {"origins": "https://shop.example"})
    assert answer.status_code == 200
    return re.search(r'id="new-secret-value">([^<]+)<', answer.get_data(as_text=True)).group(1)


def widget_row(session) -> WidgetSettings | None:
    session.expire_all()
    return session.scalar(select(WidgetSettings))


def entries(session, action=None) -> list[AuditEntry]:
    session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))


def me(app, token):
    """``GET /member/v1/acme/me`` as the widget calls it, from the store's origin."""
    from loyalty.db import db

    db.session.commit()
    with app.app_context():
        return app.test_client().get(
            "/member/v1/acme/me", headers={"Authorization": f"Bearer {token}", "Origin": "https://shop.example"}
        )


def field(page: str, name: str) -> str:
    """The ``<p class="field">`` of the input named ``name``: its label, input and messages."""
    found = re.search(
        rf'<p class="field[^"]*"[^>]*>(?:(?!</p>).)*?name="{re.escape(name)}"(?:(?!</p>).)*</p>', page, re.S
    )
    assert found, f"no field {name}"
    return found.group(0)


def looks_form(page: str) -> dict:
    """Every value the looks form shows, as the browser would post it unchanged."""
    form = page.split('id="looks"', 1)[1].split("</form>", 1)[0]
    values = {}
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="radio"' in tag and "checked" not in tag:
            continue
        values[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    for name, options in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        values[name] = re.search(r'<option value="([^"]+)" selected', options).group(1)
    return values


class TestPage:
    def test_linked_from_the_program_and_seen_by_every_role(self, app, users, owner, manager, viewer):
        assert 'href="/admin/acme/widget"' in owner.get("/admin/acme/").get_data(as_text=True)
        for person in (owner, manager, viewer):
            page = person.get(PAGE)
            assert page.status_code == 200
            text = page.get_data(as_text=True)
            assert 'id="widget-state">off<' in text and "never switched on" in text
            assert 'id="looks"' not in text and "loyalty.js" not in text  # no looks before it was ever on
        assert 'id="enable"' in owner.get(PAGE).get_data(as_text=True)
        assert 'id="enable"' not in manager.get(PAGE).get_data(as_text=True)
        assert signed_in(app, "limited@example.com").get(PAGE).status_code == 404

    def test_every_text_has_a_field_with_its_english_default(self, owner, enabled):
        page = owner.get(PAGE).get_data(as_text=True)
        for key, default in DEFAULT_TEXTS.items():
            assert page.count(f'name="texts.{key}"') == 1, key
            assert f'placeholder="{html.escape(default)}"' in field(page, f"texts.{key}"), key
        assert 'placeholder="Rewards"' in field(page, "appearance.label")
        assert '<code class="placeholder">{program}</code>' in field(page, "texts.panel_title")
        assert 'type="color"' in field(page, "appearance.accent") and 'value="#4f46e5"' in field(
            page, "appearance.accent"
        )

    def test_the_preview_is_the_real_widget_from_this_site(self, owner, enabled):
        page = owner.get(PAGE).get_data(as_text=True)
        assert '<script src="/widget/v1/loyalty.js" defer></script>' in page
        assert '<script src="/admin/static/widget.js" defer></script>' in page
        assert '<loyalty-widget preview data-program-name="Acme"></loyalty-widget>' in page
        assert "<style" not in page and " style=" not in page and "<script>" not in page  # the CSP allows neither

    def test_the_tags_to_paste_name_the_platform(self, app, owner, enabled):
        page = owner.get(PAGE).get_data(as_text=True)
        assert "https://localhost/widget/v1/loyalty.js" in html.unescape(page)
        assert "docs/widget.md" in page
        app.config["PUBLIC_URL"] = "https://loyalty.example"  # LOYALTY_PUBLIC_URL, as for `loyalty widget enable`
        page = html.unescape(owner.get(PAGE).get_data(as_text=True))
        for snippet in ('data-program="acme"', "hmac_sha256: settings.loyalty_widget_secret", "hash_hmac('sha256'"):
            assert snippet in page
        for name in ("jwt", "shopify", "woocommerce"):
            tag = page.split(f'<pre id="snippet-{name}">', 1)[1].split("</pre>", 1)[0]
            assert "https://loyalty.example/widget/v1/loyalty.js" in tag, name
        assert enabled not in page


class TestOwnersOnly:
    def test_managers_and_viewers_cannot_switch_rotate_or_change_origins(self, session, manager, viewer, owner):
        for person in (manager, viewer):
            assert person.post(ENABLE, {"origins": "https://shop.example"}).status_code == 403
        assert widget_row(session) is None
        session.rollback()
        owner.post(ENABLE, {"origins": "https://shop.example"})
        secret = widget_row(session).secret
        session.rollback()
        for person in (manager, viewer):
            assert person.post(ORIGINS, {"origins": "https://evil.example"}).status_code == 403
            assert person.post(DISABLE, {}).status_code == 403
            assert person.get(ROTATE).status_code == 403
            assert person.post(ROTATE, {"replaces": masked(secret)}).status_code == 403
            page = person.get(PAGE).get_data(as_text=True)
            assert 'id="disable"' not in page and 'id="rotate-link"' not in page and 'id="origins"' not in page
        row = widget_row(session)
        assert (row.enabled, row.origins, row.secret) == (True, ["https://shop.example"], secret)
        assert [e.action for e in entries(session)] == ["widget.enable"]

    def test_every_post_needs_its_csrf_token(self, session, owner):
        assert owner.post(ENABLE, {"origins": "https://shop.example"}, csrf=False).status_code == 400
        assert widget_row(session) is None
        session.rollback()
        owner.post(ENABLE, {"origins": "https://shop.example"})
        secret = widget_row(session).secret
        session.rollback()
        for path, data in ((ROTATE, {"replaces": masked(secret)}), (DISABLE, {}), (PAGE, {"appearance.label": "X"})):
            assert owner.post(path, data, csrf=False).status_code == 400
        row = widget_row(session)
        assert (row.enabled, row.secret, row.appearance) == (True, secret, {})


class TestSecret:
    def test_shown_once_on_the_answer_then_masked(self, app, session, owner, enabled):
        row = widget_row(session)
        assert enabled == row.secret and enabled.startswith("lw_")
        session.rollback()
        page = owner.get(PAGE).get_data(as_text=True)
        assert enabled not in page and f'id="secret">{html.escape(masked(enabled))}<' in page
        assert 'id="widget-state">on<' in page and "https://shop.example" in page
        # never kept where a later page could show it: the signed session cookie has no copy
        cookie = owner.client.get_cookie("session", domain="localhost")
        assert enabled not in json.dumps(app.session_interface.get_signing_serializer(app).loads(cookie.value))
        (entry,) = entries(session, "widget.enable")
        assert entry.actor == "owner@example.com" and entry.after["secret"] == masked(enabled)
        assert entry.after["origins"] == ["https://shop.example"]

    def test_the_answer_that_shows_it_is_not_cached(self, owner):
        answer = owner.post(ENABLE, {"origins": "https://shop.example"})
        assert answer.headers["Cache-Control"] == "no-store"

    def test_enabling_again_keeps_the_secret_and_never_shows_it(self, session, owner, enabled):
        owner.post(DISABLE, {})
        again = owner.post(ENABLE, {"origins": "https://shop.example\nhttp://localhost:3000"})
        assert again.status_code == 302
        page = owner.get(again.headers["Location"]).get_data(as_text=True)
        assert enabled not in page and "Its secret is unchanged" in page
        row = widget_row(session)
        assert (row.enabled, row.secret, row.origins) == (
            True,
            enabled,
            ["https://shop.example", "http://localhost:3000"],
        )

    def test_rotating_asks_first_then_old_tokens_stop_working(self, app, session, clock, owner, enabled):
        old_token = make_jwt(enabled, "c-ann", clock=clock)
        assert me(app, old_token).status_code == 200
        confirm = owner.get(ROTATE).get_data(as_text=True)
        assert "at once" in confirm and html.escape(masked(enabled)) in confirm and enabled not in confirm
        assert me(app, old_token).status_code == 200  # asking changed nothing

        answer = owner.post(ROTATE, {"replaces": masked(enabled)})
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        new = re.search(r'id="new-secret-value">([^<]+)<', answer.get_data(as_text=True)).group(1)
        assert new != enabled and widget_row(session).secret == new
        session.rollback()
        refused = me(app, old_token)
        assert refused.status_code == 401 and refused.get_json()["code"] == "invalid_member_token"
        assert me(app, make_jwt(new, "c-ann", clock=clock)).status_code == 200

        page = owner.get(PAGE).get_data(as_text=True)
        assert new not in page and html.escape(masked(new)) in page
        (entry,) = entries(session, "widget.rotate")
        assert (entry.before, entry.after) == ({"secret": masked(enabled)}, {"secret": masked(new)})

    def test_sending_the_rotation_again_rotates_nothing(self, session, owner, enabled):
        first = owner.post(ROTATE, {"replaces": masked(enabled)})
        new = widget_row(session).secret
        session.rollback()
        again = owner.post(ROTATE, {"replaces": masked(enabled)})  # a reload of the answer sends the form again
        assert again.status_code == 302 and new not in again.get_data(as_text=True)
        assert widget_row(session).secret == new and first.status_code == 200
        assert owner.post(ROTATE, {}).status_code == 302  # not from the confirmation page: nothing either
        assert widget_row(session).secret == new and len(entries(session, "widget.rotate")) == 1

    def test_no_secret_ever_reaches_the_audit_log(self, session, owner, manager, enabled):
        owner.post(ROTATE, {"replaces": masked(enabled)})
        new = widget_row(session).secret
        session.rollback()
        owner.post(DISABLE, {})
        owner.post(ENABLE, {"origins": "https://shop.example"})
        manager.post(PAGE, {**looks_form(manager.get(PAGE).get_data(as_text=True)), "appearance.label": "Points"})
        logged = json.dumps([(e.before, e.after, e.note, e.target) for e in entries(session)])
        assert enabled not in logged and new not in logged
        assert [e.action for e in entries(session)] == [
            "widget.enable",
            "widget.rotate",
            "widget.disable",
            "widget.enable",
            "widget.looks",
        ]
        audit_page = owner.get("/admin/acme/audit").get_data(as_text=True)
        assert "Widget secret rotated" in audit_page and enabled not in audit_page and new not in audit_page


class TestSwitchingAndOrigins:
    def test_switched_off_the_member_api_answers_403(self, app, session, clock, owner, enabled):
        token = make_jwt(enabled, "c-ann", clock=clock)
        assert owner.post(DISABLE, {}).status_code == 302
        refused = me(app, token)
        assert refused.status_code == 403 and refused.get_json()["code"] == "widget_disabled"
        page = owner.get(PAGE).get_data(as_text=True)
        assert 'id="widget-state">off<' in page and 'id="enable"' in page and "https://shop.example" in page
        (entry,) = entries(session, "widget.disable")
        assert (entry.before, entry.after) == ({"enabled": True}, {"enabled": False})
        assert owner.post(DISABLE, {}).status_code == 302 and len(entries(session, "widget.disable")) == 1
        owner.post(ENABLE, {"origins": "https://shop.example"})
        assert me(app, token).status_code == 200  # on again, with the same secret

    def test_invalid_origins_are_refused_beside_the_field_and_nothing_is_made(self, session, owner):
        for written in ("https://shop.example/account", "ftp://shop.example", "*.example", "", "https://a.example x"):
            answer = owner.post(ENABLE, {"origins": written})
            assert answer.status_code == 200, written
            page = answer.get_data(as_text=True)
            assert 'class="flash error"' in field(page, "origins") and "new-secret" not in page, written
            assert widget_row(session) is None and entries(session) == []
            session.rollback()

    def test_the_origins_are_changed_as_written_and_checked(self, app, session, clock, owner, enabled):
        answer = owner.post(
            ORIGINS, {"origins": "https://Shop.Example:443/\n\nhttps://eu.shop.example, http://localhost:3000"}
        )
        assert answer.status_code == 302
        assert widget_row(session).origins == [
            "https://shop.example",
            "https://eu.shop.example",
            "http://localhost:3000",
        ]
        session.rollback()
        for written in ("https://shop.example\njavascript:alert(1)", "", "https://user:pw@shop.example"):
            page = owner.post(ORIGINS, {"origins": written}).get_data(as_text=True)
            assert 'class="flash error"' in field(page, "origins"), written
            assert html.escape(written) in field(page, "origins")  # what was written stays, to be corrected
        assert len(widget_row(session).origins) == 3
        (entry,) = entries(session, "widget.origins")
        assert entry.before == {"origins": ["https://shop.example"]} and len(entry.after["origins"]) == 3


class TestLooks:
    def test_managers_save_the_looks_and_texts(self, session, manager, enabled):
        values = looks_form(manager.get(PAGE).get_data(as_text=True))
        assert values["appearance.accent"] == "#4f46e5" and values["joins"] == "widget" and values["texts.close"] == ""
        values.update(
            {
                "appearance.accent": "#0A7D5A",
                "appearance.accent_text": "#ffffff",  # the default: not stored
                "appearance.position": "bottom-left",
                "appearance.label": "Belohnungen",
                "texts.panel_title": "Prämien von {program}",
                "texts.points": "{points} Punkte",
                "texts.close": DEFAULT_TEXTS["close"],  # the default, written out: not stored
                "sign_in_url": "https://shop.example/account/login",
                "joins": "order",
            }
        )
        answer = manager.post(PAGE, values)
        assert answer.status_code == 302
        row = widget_row(session)
        assert row.appearance == {"accent": "#0a7d5a", "position": "bottom-left", "label": "Belohnungen"}
        assert row.texts == {"panel_title": "Prämien von {program}", "points": "{points} Punkte"}
        assert (row.sign_in_url, row.sign_up_url, row.joins) == ("https://shop.example/account/login", None, "order")
        session.rollback()
        page = manager.get(PAGE).get_data(as_text=True)
        assert "Widget saved" in page and 'value="Prämien von {program}"' in field(page, "texts.panel_title")
        assert "selected" in page.split('value="bottom-left"', 1)[1][:12]
        (entry,) = entries(session, "widget.looks")
        assert entry.actor == "manager@example.com"
        assert set(entry.after) == {"appearance", "texts", "sign_in_url", "joins"}  # only what changed
        assert entry.before["joins"] == "widget" and entry.after["texts"] == row.texts

    def test_an_emptied_field_goes_back_to_the_default(self, session, manager, enabled):
        values = looks_form(manager.get(PAGE).get_data(as_text=True))
        manager.post(PAGE, {**values, "texts.close": "Schließen", "appearance.label": "Punkte"})
        assert widget_row(session).texts == {"close": "Schließen"}
        session.rollback()
        values = looks_form(manager.get(PAGE).get_data(as_text=True))
        assert values["texts.close"] == "Schließen"
        manager.post(PAGE, {**values, "texts.close": "  ", "appearance.label": ""})
        row = widget_row(session)
        assert (row.texts, row.appearance) == ({}, {})  # the overrides are replaced as a whole

    def test_saving_unchanged_records_nothing(self, session, manager, enabled):
        answer = manager.post(PAGE, looks_form(manager.get(PAGE).get_data(as_text=True)))
        assert answer.status_code == 302 and "Nothing changed" in manager.get(PAGE).get_data(as_text=True)
        assert entries(session, "widget.looks") == []

    def test_invalid_values_are_refused_beside_each_field_and_nothing_changes(self, session, manager, enabled):
        values = looks_form(manager.get(PAGE).get_data(as_text=True))
        manager.post(PAGE, {**values, "texts.close": "Schließen"})
        before = widget_row(session)
        before = (dict(before.appearance), dict(before.texts), before.sign_in_url, before.joins)
        session.rollback()
        wrong = {
            "appearance.accent": "red",
            "appearance.position": "top-left",
            "appearance.label": "L" * 41,
            "texts.points": "{pointz} Punkte",  # not a placeholder of the default
            "texts.panel_title": "{program:>999999}",  # a format spec: refused
            "texts.tier_top": "Oben {",
            "texts.close": "Zu",
            "sign_in_url": "javascript:alert(1)",
            "joins": "everyone",
        }
        answer = manager.post(PAGE, {**values, **wrong})
        assert answer.status_code == 200
        page = answer.get_data(as_text=True)
        for name in wrong:
            if name != "texts.close":
                assert 'class="flash error"' in field(page, name), name
        assert 'class="flash error"' not in field(page, "texts.close")
        assert "{pointz} is not filled in here (placeholders: {points})" in field(page, "texts.points")
        assert 'value="{pointz} Punkte"' in field(page, "texts.points")  # shown as written, to be corrected
        assert '<details class="texts" open>\n      <summary>Points and tiers' in page  # its group is open
        row = widget_row(session)
        assert (row.appearance, row.texts, row.sign_in_url, row.joins) == before
        assert len(entries(session, "widget.looks")) == 1

    def test_viewers_change_nothing(self, session, viewer, enabled):
        page = viewer.get(PAGE).get_data(as_text=True)
        assert "<fieldset disabled>" in page and '<button type="submit">Save</button>' not in page
        values = looks_form(page)
        assert viewer.post(PAGE, {**values, "appearance.label": "Mine"}, csrf=False).status_code in (400, 403)
        assert (
            viewer.post(PAGE, {**values, "appearance.label": "Mine", "csrf_token": viewer.token(PAGE)}).status_code
            == 403
        )
        assert widget_row(session).appearance == {}

    def test_hostile_posts_change_nothing(self, session, manager, enabled):
        values = looks_form(manager.get(PAGE).get_data(as_text=True))
        assert manager.post(PAGE, {**values, "texts.close": "a\x00b"}).status_code == 400
        answer = manager.post(PAGE, {**values, "texts.nonsense": "x", "appearance.shadow": "1", "secret": "lw_mine"})
        assert answer.status_code == 302  # fields the form does not have are not read
        row = widget_row(session)
        assert (row.texts, row.appearance, row.secret) == ({}, {}, enabled)
        session.rollback()
        assert manager.post(PAGE, {**values, "texts.close": "x" * 301}).status_code == 200
        assert widget_row(session).texts == {}

    def test_looks_wait_until_the_widget_was_switched_on(self, session, manager):
        answer = manager.post(PAGE, {"appearance.label": "Points"})
        assert answer.status_code == 302 and "never switched on" in manager.get(PAGE).get_data(as_text=True)
        assert session.scalar(select(func.count()).select_from(WidgetSettings)) == 0


def test_every_text_has_its_place_in_the_form():
    """A text added to the widget is grouped where a program manager looks for it, not left under "Other texts"."""
    from loyalty.admin.widget import text_groups

    groups = text_groups()
    assert "Other texts" not in [title for title, _ in groups]
    assert sorted(key for _, keys in groups for key in keys) == sorted(DEFAULT_TEXTS)
