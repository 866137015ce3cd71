"""Every admin page in headless Chromium, at a desktop's width and a phone's (390 px), under the admin's CSP.

Each page is opened as an owner would open it, with a program that has
something on every page (members, rules, a campaign, tiers, a reward, a
delivery, a job run, audit entries). A page passes when it answers 200
(the error page: its status), says what it is, logs no CSP message, and
does not scroll sideways at 390 px. The widget, e-mail and outbound pages
have their own browser tests (``test_admin_*_browser.py``), which check
them the same way while they use them; ``test_every_page_is_checked`` fails
when a new page is in neither.

``ADMIN_SCREENSHOTS=docs/screenshots`` saves the pages issue 20 changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty.access.admin_users import create_admin
from loyalty.earning.events import Customer
from loyalty.earning.pipeline import enrol
from loyalty.jobs import run_job
from loyalty.models import Reward, Tier, WebhookDelivery
from loyalty.rewards import add_reward
from loyalty.storefronts.connections import add_storefront
from loyalty.tiers.levels import add_tier, set_scheme
from tests.helpers.admin import PASSWORD
from tests.helpers.chromium import needs_chromium, open_from_menu, server, tab  # noqa: F401 (fixture)
from tests.helpers.webhooks import SECRETS, standard_headers

pytestmark = needs_chromium
WIDTHS = pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])

#: The pages this test opens: (name, path with {ids}, what its heading says).
PAGES = [
    ("programs", "/admin/", "Dashboard"),  # one program: straight to its dashboard
    ("dashboard", "/admin/acme/", "Dashboard"),
    ("members", "/admin/acme/members", "Members"),
    ("member", "/admin/acme/members/c-ann", "Ann Archer"),
    ("finance", "/admin/acme/finance", "Finance"),
    ("tiers", "/admin/acme/tiers?scheme=amount_spent", "Tiers"),
    ("tier-form", "/admin/acme/tiers/{tier}", "Gold"),
    ("rules", "/admin/acme/rules", "Earning rules"),
    ("rule-new", "/admin/acme/rules/new?type=campaign_multiplier", "Campaign multiplier"),
    ("rule-form", "/admin/acme/rules/{rule}", "Black Friday"),
    ("rewards", "/admin/acme/rewards", "Reward catalog"),
    ("reward-new", "/admin/acme/rewards/new?type=fixed_amount_code", "New reward"),
    ("reward-edit", "/admin/acme/rewards/{reward}", "Ship"),
    ("referrals", "/admin/acme/referrals", "Referrals"),
    ("inbox", "/admin/acme/inbox", "Webhook inbox"),
    ("delivery", "/admin/acme/inbox/{delivery}", "Delivery"),
    ("jobs", "/admin/acme/jobs", "Scheduled jobs"),
    ("plugins", "/admin/acme/plugins", "Plugins"),
    ("settings", "/admin/acme/settings", "Program settings"),
    ("connections", "/admin/acme/connections", "Stores and API keys"),
    ("audit-log", "/admin/acme/audit", "Audit log"),
    ("not-found", "/admin/acme/no-such-page", "There is nothing here"),
]
#: Endpoints opened by their own browser tests, at both widths.
ELSEWHERE = {
    "widget": "test_admin_widget_browser.py",
    "widget_rotate": "test_admin_widget_browser.py",
    "email": "test_admin_email_browser.py",
    "email_template": "test_admin_email_browser.py",
    "email_preview": "test_admin_email_browser.py",
    "outbound": "test_admin_outbound_browser.py",
    "outbound_confirm": "test_admin_outbound_browser.py",
    "login": "test_admin_browser.py",
    "static": "every page (its CSS and script)",
}
#: What each opened page's endpoint is (the programs list redirects to the dashboard with one program).
ENDPOINTS = {
    "home",
    "dashboard",
    "members",
    "member",
    "finance",
    "tiers",
    "tier_form",
    "rules",
    "rule_form",
    "rewards",
    "reward_form",
    "reward_edit",
    "referrals",
    "inbox",
    "delivery",
    "jobs",
    "plugins",
    "settings",
    "connections",
    "audit_log",
    "_nowhere",
}


@pytest.fixture
def everything(app, session, program, registry, clock, add_rule, push):
    """A program with something on every page; the ids the pages' paths need."""
    program.timezone = "Europe/Paris"
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")
    campaign = add_rule(
        "campaign_multiplier",
        {"multiplier": "2", "starts_at": "2026-11-27T00:00:00+01:00", "ends_at": "2026-11-30T00:00:00+01:00"},
        name="Black Friday",
    )
    set_scheme(session, program, registry, "points_earned", {})
    add_tier(session, program, name="Silver", rank=1, threshold="200", clock=clock)
    gold = add_tier(session, program, name="Gold", rank=2, threshold="500", keep_threshold="400", clock=clock)
    reward = add_reward(session, program, registry, type="free_shipping_code", name="Ship", points=100, clock=clock)
    enrol(session, program, Customer("c-ann", "ann@example.com", "Ann Archer"), registry=registry, clock=clock)
    add_storefront(
        session, program, registry, type="standard_webhooks", secret=SECRETS["standard_webhooks"], clock=clock
    )
    owner = create_admin(session, email="owner@example.com", password=PASSWORD, role="owner", clock=clock)
    session.commit()
    body = json.dumps(
        {"type": "custom_event", "event_id": "e-1", "name": "review_written", "customer": {"external_id": "c-ann"}}
    ).encode()
    app.test_client().post(
        "/webhooks/acme/standard_webhooks", data=body, headers=standard_headers(body, int(clock.now().timestamp()))
    )
    run_job(session, "release", registry=registry, clock=clock)
    from loyalty.access.admin_users import audit

    audit(
        session,
        owner,
        "rule.update",
        program=program,
        target=f"rule:{campaign.id}",
        before={"name": "Black Friday", "config": {"multiplier": "1.5"}},
        after={"name": "Black Friday", "config": {"multiplier": "2"}},
        clock=clock,
    )
    session.commit()
    ids = {
        "tier": gold.id,
        "rule": campaign.id,
        "reward": reward.id,
        "delivery": session.scalar(select(WebhookDelivery.id)),
    }
    assert session.scalar(select(Tier.id).where(Tier.name == "Silver")) and session.get(Reward, reward.id)
    session.rollback()  # end the read: on SQLite the server needs the one write lock
    return ids


def sign_in(page):
    page.goto("/admin/login")
    page.fill("#email", "owner@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/acme/")


@WIDTHS
def test_every_page_at_this_width(server, everything, width):
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    with tab(server, width=width) as page:
        sign_in(page)
        for name, path, heading in PAGES:
            answer = page.goto(path.format(**everything))
            assert answer.status == (404 if name == "not-found" else 200), name
            assert heading in page.inner_text("main"), name
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
            if folder and name in {"rules", "tiers", "audit-log", "settings", "not-found", "rule-new"}:
                Path(folder).mkdir(parents=True, exist_ok=True)
                suffix = "" if width > 400 else "-390"
                page.screenshot(path=str(Path(folder) / f"admin-{name}{suffix}.png"), full_page=True)
        page.goto("/admin/acme/members")
        menu = page.locator("details.menu")
        assert menu.evaluate("menu => menu.open") == (width > 700)  # folded on a phone, open on a desktop
        open_from_menu(page, "Audit log")
        page.wait_for_url("**/admin/acme/audit")
        page.goto("/")
        assert "Sign in to the admin" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_every_page_is_checked(app):
    """A new admin page is opened here or by a browser test of its own."""
    pages = {
        rule.endpoint.removeprefix("admin.")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "GET" in rule.methods
    }
    assert pages == ENDPOINTS | set(ELSEWHERE)
