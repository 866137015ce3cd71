"""The Outbound page in headless Chromium, at a desktop's width and a phone's (390 px), under the admin's CSP.

An owner adds an endpoint that is a real local receiver (verifying every
request with ``standardwebhooks``), copies the secret the page shows once,
sends a test event, sees it delivered, replays it, enables an endpoint the
platform disabled, rotates the secret and removes the endpoint.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyalty.access.admin_users import create_admin
from loyalty.messages import sending
from loyalty.models import Destination
from tests.helpers.admin import PASSWORD, shop  # noqa: F401 (fixture)
from tests.helpers.chromium import needs_chromium, open_from_menu, server, tab  # noqa: F401 (fixture)
from tests.helpers.receiver import Receiver

pytestmark = needs_chromium
WIDTHS = pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])


@pytest.fixture
def owner(app, session, shop, clock):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
    create_admin(session, email="owner@example.com", password=PASSWORD, role="owner", clock=clock)
    session.commit()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def sign_in(page, email="owner@example.com"):
    page.goto("/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/acme/")


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def send(app, session, registry, clock):
    """What the worker would do, then the transaction ended (on SQLite the server needs the write lock)."""
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    session.commit()


@WIDTHS
def test_add_test_replay_enable_rotate_and_remove(app, server, session, registry, clock, owner, receiver, width):
    with tab(server, width=width) as page:
        sign_in(page)
        open_from_menu(page, "Outbound")
        page.wait_for_url("**/admin/acme/outbound")
        assert "No endpoints yet." in page.inner_text("#endpoints")
        page.fill("#url", receiver.url)
        page.fill("#endpoint-name", "Receiver")
        page.uncheck("#add-endpoint input[name=events][value=all]")
        page.check("#add-endpoint input[name=events][value='tier.changed']")
        page.click("#add-endpoint button[type=submit]")
        page.wait_for_selector("#new-secret")
        secret = page.inner_text("#new-secret-value")
        assert secret.startswith("whsec_")
        assert session.scalar(select(Destination)).events == ["tier.changed"]
        session.rollback()
        receiver.secret = secret
        fits(page, width)

        page.goto("/admin/acme/outbound")  # again: masked from now on
        assert secret not in page.content()
        assert page.inner_text("#endpoint-1 .masked-secret") == f"whsec_…{secret[-4:]}"
        page.select_option("#test-type-1", "tier.changed")
        page.click("#endpoint-1 .send-test button")
        page.wait_for_selector(".flash.ok")
        assert "Test event tier.changed queued" in page.inner_text(".flash.ok")
        send(app, session, registry, clock)
        [got] = receiver.requests
        assert got.error is None and got.payload["type"] == "tier.changed" and got.payload["data"]["test"] is True

        page.goto("/admin/acme/outbound")
        row = page.locator("#deliveries tr", has_text="tier.changed")
        assert "delivered" in row.inner_text() and "200" in row.inner_text() and "test" in row.inner_text()
        row.locator("button", has_text="Replay").click()
        page.wait_for_selector(".flash.ok")
        assert "pending" in page.locator("#deliveries tr", has_text="tier.changed").inner_text()
        send(app, session, registry, clock)
        assert receiver.ids() == [got.headers["webhook-id"]] * 2  # the same webhook-id again
        fits(page, width)

        endpoint = session.scalar(select(Destination))
        endpoint.status = "disabled"
        endpoint.disabled_reason = (
            "Disabled by the platform on 2026-12-01 10:00 UTC: every delivery failed since 2026-11-26 10:00 UTC "
            "(last: HTTP 500)."
        )
        session.commit()
        page.goto("/admin/acme/outbound")
        notice = page.locator("#disabled-1")
        assert "is disabled by the platform" in notice.inner_text() and "HTTP 500" in notice.inner_text()
        fits(page, width)
        notice.locator("button", has_text="Enable").click()
        page.wait_for_selector(".flash.ok")
        assert page.locator("#disabled-1").count() == 0
        assert page.inner_text("#endpoint-1 .status") == "active"

        page.click("#endpoint-1 >> text=Rotate secret")
        assert "at once" in page.inner_text("#confirm")
        page.click("#confirm-form button[type=submit]")
        page.wait_for_selector("#new-secret")
        rotated = page.inner_text("#new-secret-value")
        assert rotated != secret
        session.expire_all()
        assert session.scalar(select(Destination)).config["secret"] == rotated
        session.rollback()

        page.goto("/admin/acme/outbound")
        page.click("#endpoint-1 >> text=Remove")
        assert "with its 1 deliveries" in page.inner_text("#confirm")
        page.click("#confirm-form button[type=submit]")
        page.wait_for_selector(".flash.ok")
        assert "No endpoints yet." in page.inner_text("#endpoints")
        fits(page, width)


@WIDTHS
def test_a_refused_url_says_why_and_keeps_what_was_typed(app, server, session, owner, width):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    with tab(server, width=width) as page:
        sign_in(page)
        page.goto("/admin/acme/outbound")
        page.fill("#url", "http://169.254.169.254/latest/meta-data/")
        page.click("#add-endpoint button[type=submit]")
        error = page.locator("#add-endpoint .flash.error")
        error.wait_for()
        assert "a link-local address" in error.inner_text()
        assert page.input_value("#url") == "http://169.254.169.254/latest/meta-data/"
        assert session.scalar(select(Destination)) is None
        session.rollback()
        fits(page, width)
