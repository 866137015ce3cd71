"""The admin end to end in headless Chromium (Debian's, driven by Playwright), against a real HTTP server.

Each step is checked in the page and in the database (ending the test's
read transaction before the browser goes on: on SQLite it holds the lock). Set
``ADMIN_SCREENSHOTS=docs/screenshots`` to save the main pages for the
README. Skipped where Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.access.admin_users import create_admin
from loyalty.earning.events import Customer, OrderPaid
from loyalty.earning.pipeline import enrol
from loyalty.models import AuditEntry
from tests.helpers import available
from tests.helpers.chromium import needs_chromium, server, tab  # noqa: F401 (server: a fixture)

PASSWORD = "correct-horse-battery"

pytestmark = needs_chromium


@pytest.fixture
def page(server):
    """A browser tab on the server at desktop width (no CSP message may be logged: :func:`tests.helpers.chromium.tab`)."""
    with tab(server) as opened:
        yield opened


@pytest.fixture
def shop(session, program, registry, clock, add_rule, push):
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")
    enrol(session, program, Customer("c-ann", "ann@example.com", "Ann Archer"), registry=registry, clock=clock)
    enrol(
        session,
        program,
        Customer("c-evil", "evil@example.com", "<img src=x onerror=alert(1)>"),
        registry=registry,
        clock=clock,
    )
    push(
        OrderPaid(
            order_id="1001",
            customer=Customer("c-ann"),
            currency="USD",
            subtotal=Decimal("120.00"),
            total=Decimal("120.00"),
        )
    )
    create_admin(session, email="pm@example.com", password=PASSWORD, role="manager", clock=clock)
    session.commit()
    return program


def shot(page, name):
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page, email="pm@example.com", password=PASSWORD):
    page.goto("/admin/login")
    shot(page, "sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_sign_in_find_a_member_and_adjust_their_points(page, session, shop):
    sign_in(page, password="wrong password!")
    assert "The e-mail or the password is wrong." in page.inner_text("main")
    sign_in(page)
    page.wait_for_url("**/admin/acme/")
    assert "120" in page.inner_text(".figures") and page.locator("svg.chart").count() == 1
    shot(page, "dashboard")
    page.fill("input[name=from]", "2025-12-01")  # a period of chosen dates, through the date inputs
    page.fill("input[name=to]", "2025-12-31")
    page.click("form.periods button")
    page.wait_for_url("**/admin/acme/?from=2025-12-01&to=2025-12-31")
    assert "0\npoints issued" in page.inner_text(".figures")  # the points came on 1 January

    page.click("text=Members")
    page.fill("input[name=q]", "ann@example.com")
    page.click("text=Find")
    page.wait_for_url("**/admin/acme/members/c-ann")
    assert "Ann Archer" in page.inner_text("h1") and "1001" in page.inner_text("main")

    page.fill("#points", "-20")
    page.fill("#reason", "Damaged parcel, points returned by mistake")
    page.click("#adjust button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "Adjusted by -20 points" in page.inner_text(".flash.ok")
    assert "100" in page.inner_text(".figures")
    shot(page, "member")
    session.expire_all()
    assert available(session, shop, "c-ann") == 100  # 120 earned, 20 taken back
    assert session.query(AuditEntry).filter_by(action="member.adjust", actor="pm@example.com").count() == 1
    session.rollback()  # end the read: SQLite's transactions take its one write lock, the server needs it

    page.click("text=Audit log")
    assert "Damaged parcel" in page.inner_text("main")
    shot(page, "audit-log")


def test_a_name_from_a_store_is_shown_as_text_and_never_runs(page, session, shop):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page)
    page.wait_for_url("**/admin/acme/")
    page.goto("/admin/acme/members")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("main")
    page.goto("/admin/acme/members/c-evil")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("h1")
    assert dialogs == []


def test_a_viewer_sees_no_adjustment_form(page, session, shop, clock):
    create_admin(session, email="viewer@example.com", password=PASSWORD, role="viewer", clock=clock)
    session.commit()
    sign_in(page, "viewer@example.com")
    page.wait_for_url("**/admin/acme/")
    page.goto("/admin/acme/members/c-ann")
    assert page.locator("#adjust").count() == 0 and "Ann Archer" in page.inner_text("h1")


def test_create_a_tier_and_add_an_earning_rule_through_its_generated_form(page, session, shop):
    from sqlalchemy import select

    from loyalty.models import EarningRule, Tier

    sign_in(page)
    page.wait_for_url("**/admin/acme/")
    page.click("header >> text=Tiers")
    page.fill("#tier-name", "Gold")
    page.fill("#tier-rank", "3")
    page.fill("#tier-threshold", "500")
    page.fill("#tier-multiplier", "1.5")
    page.click("#add-tier button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert "Gold" in page.inner_text("table")
    session.expire_all()
    assert session.scalar(select(Tier.name)) == "Gold"
    session.rollback()

    page.click("header >> text=Rules")
    page.click("text=Product, SKU or category multiplier")
    page.fill("#name", "Double on coffee")
    page.fill("[id='config.skus']", "BEANS, FILTER")
    page.fill("[id='config.multiplier']", "2")
    page.fill("[id='order.subtotal']", "25.00")
    page.fill("[id='order.sku']", "BEANS")
    page.click("button[value=try]")
    page.wait_for_selector("#trial")
    assert "would earn" in page.inner_text("#trial")
    shot(page, "rule-form")
    page.click("button[value=save]")
    page.wait_for_selector(".flash.ok")
    assert "Double on coffee" in page.inner_text("table")
    session.expire_all()
    rule = session.scalar(select(EarningRule).where(EarningRule.name == "Double on coffee"))
    assert rule.config["skus"] == ["BEANS", "FILTER"] and rule.type == "product_multiplier"
    session.rollback()


def test_replay_a_failed_delivery(page, session, shop, registry, clock, app):
    import json

    from loyalty.models import WebhookDelivery
    from loyalty.storefronts.connections import add_storefront
    from tests.helpers.webhooks import SECRETS, standard_headers

    add_storefront(session, shop, registry, type="standard_webhooks", secret=SECRETS["standard_webhooks"], clock=clock)
    session.commit()
    body = json.dumps({"type": "customer_created", "customer": {"external_id": "c-new", "email": "new@example.com"}})
    app.test_client().post(
        "/webhooks/acme/standard_webhooks",
        data=body.encode(),
        headers=standard_headers(body.encode(), int(clock.now().timestamp())),
    )
    delivery = session.query(WebhookDelivery).one()
    delivery.status, delivery.last_error = "failed", "internal_error: the database was down"
    delivery_id = delivery.id  # read before the commit: reading after it would open a transaction (SQLite's lock)
    session.commit()

    sign_in(page)
    page.wait_for_url("**/admin/acme/")
    page.click("header >> text=Inbox")
    page.select_option("#status", "failed")
    page.click("text=Filter")
    page.click(f"table >> text={delivery_id}")
    assert "the database was down" in page.inner_text("main")
    page.click("#replay button")
    page.wait_for_selector(".flash")
    assert page.inner_text("#status") == "processed"
    shot(page, "delivery")
    session.expire_all()
    assert session.get(WebhookDelivery, delivery_id).status == "processed"
    session.rollback()


def test_the_tier_scheme_choice_shows_its_settings_under_the_csp(page, session, shop):
    sign_in(page)
    page.wait_for_url("**/admin/acme/")
    page.goto("/admin/acme/tiers")
    page.select_option("#scheme", "points_earned")  # the page's script sends the form (no inline handler)
    page.wait_for_url("**/admin/acme/tiers?scheme=points_earned")
    assert page.locator("[name='settings.window_days']").count() == 1


def test_the_api_docs_render_from_this_site_only(page, server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock-summary", timeout=15000)
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/members" in operations and len(operations) >= 10
    assert requested and all(url.startswith(server + "/") or url.startswith("data:") for url in requested), requested
