"""The E-mail pages in headless Chromium, at a desktop's width and a phone's (390 px), under the admin's CSP.

A manager switches e-mail on from the navigation, edits a template,
previews it in the sandboxed frame (the unsaved subject shows there), sees
a broken part refused under its field, saves, and resets. A member opens
the unsubscribe link of an e-mail and unsubscribes with the page's button.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.access.admin_users import create_admin
from loyalty.messages import unsubscribe
from loyalty.models import Destination, Member, MessageTemplate
from loyalty.programs.members import find_member
from tests.helpers.admin import PASSWORD, shop  # noqa: F401 (fixture)
from tests.helpers.chromium import needs_chromium, open_from_menu, server, tab  # noqa: F401 (fixture)

pytestmark = needs_chromium
WIDTHS = pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])


@pytest.fixture
def manager(session, shop, clock):
    create_admin(session, email="manager@example.com", password=PASSWORD, role="manager", clock=clock)
    session.commit()


def sign_in(page, email="manager@example.com"):
    page.goto("/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/acme/")


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def read(session, query, pick=lambda row: row):
    """What ``pick`` takes from the row ``query`` finds (``None`` for none), read before the read ends: on SQLite
    the server needs the one write lock, and touching a row after the rollback would begin another transaction."""
    session.expire_all()
    found = session.scalar(query)
    value = None if found is None else pick(found)
    session.rollback()
    return value


@WIDTHS
def test_switch_email_on_edit_preview_save_and_reset_a_template(app, server, session, manager, width):
    app.config.update(SMTP_URL=None, PUBLIC_URL=server)
    with tab(server, width=width) as page:
        sign_in(page)
        open_from_menu(page, "E-mail")
        page.wait_for_url("**/admin/acme/email")
        assert "SMTP is not configured" in page.inner_text("#smtp-state")
        assert page.inner_text("#email-state") == "off"
        page.fill("#from_address", "rewards@acme.example")
        page.click("#enable button[type=submit]")
        page.wait_for_selector(".flash.ok")
        assert page.inner_text("#email-state") == "on"
        assert read(session, select(Destination), lambda row: row.config) == {"from_address": "rewards@acme.example"}
        fits(page, width)

        page.click("#edit-points-earned")
        page.wait_for_url("**/admin/acme/email/points.earned")
        frame = page.frame_locator("#email-preview")
        assert frame.locator("#preview-subject").inner_text() == "You earned 170 points"
        assert "Ada Lovelace" in frame.locator("#preview-html").inner_text()

        page.fill("#subject", "{{ points | points }} more for {{ member.name }}")
        page.fill("#member", "c-ann")
        page.click("#preview-button")
        frame.locator("#preview-subject:has-text('more for Ann Archer')").wait_for()
        assert read(session, select(MessageTemplate)) is None  # a preview saves nothing

        page.fill("#text", "Hello {{ membr.name }}")
        page.click("#save")
        error = page.locator("p.field:has(#text) .flash.error")
        error.wait_for()
        assert "'membr' is undefined" in error.inner_text()
        assert page.input_value("#text") == "Hello {{ membr.name }}"
        fits(page, width)

        page.fill("#text", "")
        page.click("#save")
        page.wait_for_selector(".flash.ok")
        own = read(session, select(MessageTemplate), lambda row: (row.subject, row.text))
        assert own == ("{{ points | points }} more for {{ member.name }}", None)
        page.click("#reset button[type=submit]")
        page.wait_for_selector(".flash.ok")
        assert read(session, select(MessageTemplate)) is None
        assert page.input_value("#subject") == "You earned {{ points | points }}"
        fits(page, width)


@WIDTHS
def test_a_member_unsubscribes_from_the_link_and_subscribes_again(app, server, session, shop, width):
    app.config.update(PUBLIC_URL=server)
    ann = find_member(session, shop, "c-ann")
    link, ann_id = unsubscribe.link(app.config, shop, ann), ann.id
    session.rollback()
    with tab(server, width=width) as page:
        page.goto(link)
        assert page.inner_text("h1") == "Unsubscribe from e-mails?"
        assert read(session, select(Member.unsubscribed_at).where(Member.id == ann_id)) is None
        page.click("#unsubscribe")
        page.wait_for_selector("h1:has-text('You are unsubscribed')")
        assert read(session, select(Member.unsubscribed_at).where(Member.id == ann_id)) is not None
        fits(page, width)
        page.click("#subscribe")
        page.wait_for_selector("h1:has-text('subscribed again')")
        assert read(session, select(Member.unsubscribed_at).where(Member.id == ann_id)) is None
