"""The storefront widget as shoppers use it: headless Chromium (Debian's, driven by Playwright) on a store page.

The platform is the test's app on ``localhost``; the store is the demo
store's application (:func:`loyalty.cli.demo_store.store_app`, the page
``make demo`` serves) on ``127.0.0.1``, another origin, so the browser
applies CORS as on a real store, and the page's strict
Content-Security-Policy too. What the widget shows is checked against the
ledger (the suite's conftest runs ``loyalty verify``'s invariants after
each test). The test ends its read transaction before the browser goes on
(on SQLite it holds the lock the server needs).

Set ``WIDGET_SCREENSHOTS=docs/screenshots`` to save the README's
screenshots (``widget-*.png``, at 1280 and 360 px). Skipped where Chromium
is not installed.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty.cli.demo_store import Shopper, store_app
from loyalty.clock import FrozenClock
from loyalty.earning.events import Customer, OrderPaid
from loyalty.earning.pipeline import enrol
from loyalty.models import Redemption
from loyalty.programs.members import find_member, get_member
from loyalty.referrals import link_for
from loyalty.widget.settings import enable, settings_of, update
from loyalty.widget.texts import DEFAULT_TEXTS
from tests.helpers import available
from tests.helpers.chromium import CHROMIUM, needs_chromium
from tests.helpers.live_server import threaded

XSS = "<img src=x onerror=alert(1)>"
SHOPPERS = {
    "c-ann": Shopper("c-ann", "Ann Archer", "ann@example.com"),
    "c-ben": Shopper("c-ben", "Ben Baker", "ben@example.com"),
}

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def platform(app):
    """The test's app over HTTP on localhost: the widget's script and the member API."""
    with threaded(app, host="localhost") as url:
        yield url


@pytest.fixture
def shop(
    session,
    program,
    registry,
    clock,
    add_rule,
    push,
    loyalty_award,
    loyalty_add_reward,
    loyalty_add_tier,
    loyalty_set_scheme,
    loyalty_recalculate,
    loyalty_referral_terms,
):
    """Acme with a rule, two tiers, referral terms, four rewards (one named like markup) and Ann with 7 entries."""
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")
    loyalty_add_tier("Bronze", threshold="0")
    loyalty_add_tier("Gold", threshold="1000", perks="Free shipping")
    loyalty_set_scheme("points_earned", {"window": "calendar_year"})
    loyalty_referral_terms(referrer_points=500, friend_points=250, link="https://shop.example/?ref={code}")
    ann = enrol(session, program, Customer("c-ann", "ann@example.com", "Ann Archer"), registry=registry, clock=clock)[0]
    push(
        OrderPaid(
            order_id="1001",
            customer=Customer("c-ann"),
            currency="USD",
            subtotal=Decimal("120.00"),
            total=Decimal("120.00"),
        )
    )
    for points in (100, 100, 100, 100, 50, 50):
        clock.advance(timedelta(seconds=1))  # awards of one moment would read as one line
        loyalty_award(ann, points)
    loyalty_recalculate()
    loyalty_add_reward("fixed_amount_code", points=500, config={"amount": "5.00"}, name="5 off")
    loyalty_add_reward(
        "store_credit", points=100, config={}, name="Store credit", step_value="1.00", min_points=200, max_points=1000
    )
    loyalty_add_reward("free_shipping_code", points=4000, config={}, name=XSS)
    loyalty_add_reward("fixed_amount_code", points=5000, config={"amount": "50.00"}, name="50 off")
    session.commit()
    return program


@pytest.fixture
def storefront(platform, shop, session, clock):
    """``storefront()`` serves the demo store's page for Acme on a new origin, allowed by the widget → its URL.

    ``allowed=False``: an origin the program does not list; ``clock``: the
    store's server's clock (one in the past makes expired tokens).
    """
    servers = ExitStack()
    secret = {}

    def start(*, allowed: bool = True, store_clock=None) -> str:
        app = store_app(
            platform_url=platform,
            program_slug="acme",
            secret=lambda: secret["key"],
            clock=store_clock or clock,
            shoppers=SHOPPERS,
        )
        url = servers.enter_context(threaded(app))
        if allowed:
            enable(session, shop, origins=[url], clock=clock)
            update(session, shop, clock=clock, sign_in_url=f"{url}/sign-in", sign_up_url=f"{url}/sign-up")
        elif settings_of(session, shop) is None:
            enable(session, shop, origins=["https://another-store.example"], clock=clock)
        secret["key"] = settings_of(session, shop).secret
        session.commit()
        return url

    yield start
    servers.close()


@pytest.fixture
def browser(chromium):
    """A tab (1280 px wide, the clipboard allowed); after the test no uncaught error nor a CSP refusal."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("console", lambda message: "Content Security Policy" in message.text and problems.append(message.text))
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield tab
    context.close()
    assert problems == []


def shot(page, name):
    folder = os.environ.get("WIDGET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"widget-{name}.png"))


def open_widget(page):
    """Click the launcher and wait for the panel's first view (anything but "Loading…"), at rest."""
    page.locator("loyalty-widget .launcher").click()
    page.locator("loyalty-widget .body[aria-busy=false]").wait_for()
    panel = page.locator("loyalty-widget .panel")
    # The panel slides in (a 0.2 s animation): measure it only where it comes to rest.
    panel.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")
    return panel


def focused(page) -> str:
    """What has the focus inside the widget: ``launcher``, ``in-panel``, or ``outside``."""
    return page.evaluate(
        """() => {
            const widget = document.querySelector("loyalty-widget");
            const active = widget && document.activeElement === widget ? widget.shadowRoot.activeElement : null;
            if (!active) return "outside";
            if (active.classList.contains("launcher")) return "launcher";
            return widget.shadowRoot.getElementById("lw-panel").contains(active) ? "in-panel" : "outside";
        }"""
    )


def test_a_guest_sees_the_program_and_the_stores_sign_in_links(browser, storefront):
    store = storefront()
    browser.goto(f"{store}/guest")
    panel = open_widget(browser)
    text = panel.inner_text()
    assert DEFAULT_TEXTS["guest_heading"].format(program="Acme").upper() in text  # a heading, in capitals
    assert "1 point for every USD 1 spent" in text and "5 off" in text and "Gold" in text
    assert panel.locator("a", has_text="Sign in").get_attribute("href") == f"{store}/sign-in"
    assert panel.locator("a", has_text="Create an account").get_attribute("href") == f"{store}/sign-up"
    assert panel.locator("button", has_text="Redeem").count() == 0
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-labelledby") == "lw-title"
    assert browser.locator("loyalty-widget #lw-title").inner_text() == "Acme rewards"
    shot(browser, "guest")
    browser.set_viewport_size({"width": 360, "height": 740})
    shot(browser, "guest-360")


def test_a_member_sees_the_ledgers_balance_and_redeems_a_reward(browser, storefront, session, shop):
    store = storefront()
    before = available(session, shop, "c-ann")
    session.rollback()
    browser.goto(f"{store}/?customer=c-ann")
    panel = open_widget(browser)
    assert panel.locator("[data-part=balance]").inner_text() == f"{before:,}"
    assert "Your tier: Bronze" in panel.inner_text()
    assert "more by Dec 31, 2026 to reach Gold" in panel.locator("[data-part=tier-next]").inner_text()
    assert (
        panel.locator("li", has_text="50 off").locator(".why").inner_text() == f"{5000 - before:,} points more needed"
    )
    assert panel.locator("li", has_text=XSS).count() == 1  # a name like markup is text; the fixture fails on a dialog
    shot(browser, "member")

    card = panel.locator("li[data-reward]", has_text="5 off")
    card.locator("button", has_text="Redeem").click()
    assert "Spend 500 points on 5 off?" in card.inner_text()
    card.locator("button", has_text="Yes, redeem").click()
    code = card.locator("input[data-copy]").input_value()
    browser.locator("loyalty-widget [data-part=balance]", has_text=f"{before - 500:,}").wait_for()
    expect(browser.locator("loyalty-widget [role=status]")).to_have_text(f"5 off is yours. Your code: {code}")
    assert "Redeemed: 5 off" in panel.locator("[data-part=activity]").inner_text()
    shot(browser, "redeemed")

    session.expire_all()
    assert available(session, shop, "c-ann") == before - 500
    redemptions = session.scalars(select(Redemption)).all()
    assert [(r.code, r.points, r.status) for r in redemptions] == [(code, 500, "issued")]
    session.rollback()

    card.locator("button", has_text="Copy").click()
    card.locator("button", has_text="Copied").wait_for()
    assert browser.evaluate("navigator.clipboard.readText()") == code


def test_a_variable_reward_spends_the_points_asked_for(browser, storefront, session, shop):
    store = storefront()
    before = available(session, shop, "c-ann")
    session.rollback()
    browser.goto(f"{store}/?customer=c-ann")
    card = open_widget(browser).locator("li[data-reward]", has_text="Store credit")
    card.locator("input[type=number]").fill("300")
    card.locator("button", has_text="Redeem for 300").click()
    card.locator("button", has_text="Yes, redeem").click()
    card.locator("input[data-copy]").wait_for()
    browser.locator("loyalty-widget [data-part=balance]", has_text=f"{before - 300:,}").wait_for()
    session.expire_all()
    assert available(session, shop, "c-ann") == before - 300
    assert [r.value for r in session.scalars(select(Redemption))] == [Decimal("3.00")]
    session.rollback()


def test_the_digest_form_signs_in_the_same_member(browser, storefront, session, shop):
    store = storefront()
    balance = available(session, shop, "c-ann")
    session.rollback()
    browser.goto(f"{store}/?customer=c-ann&form=digest")
    assert browser.locator("script[data-digest]").count() == 1
    assert open_widget(browser).locator("[data-part=balance]").inner_text() == f"{balance:,}"


def test_a_new_customer_is_enrolled_and_another_member_sees_only_their_own(browser, storefront, session, shop):
    store = storefront()
    browser.goto(f"{store}/?customer=c-ben")
    panel = open_widget(browser)
    assert panel.locator("[data-part=balance]").inner_text() == "0"
    assert "Redeemed" not in panel.inner_text() and "Order #1001" not in panel.inner_text()
    assert "null" not in panel.inner_text() and "undefined" not in panel.inner_text()  # sections with nothing to show
    session.expire_all()
    assert get_member(session, shop, "c-ben").name == "Ben Baker"  # enrolled by the widget, named by the token
    session.rollback()


def test_the_referral_link_is_copied(browser, storefront, session, shop):
    store = storefront()
    link = link_for(shop, get_member(session, shop, "c-ann").referral_code)
    session.rollback()
    browser.goto(f"{store}/?customer=c-ann")
    referral = open_widget(browser).locator("[data-part=referral]")
    assert "Give a friend 250 points and get 500 points when they order." in referral.inner_text()
    assert referral.locator("input").input_value() == link
    referral.locator("button", has_text="Copy").click()
    referral.locator("button", has_text="Copied").wait_for()
    assert browser.evaluate("navigator.clipboard.readText()") == link
    expect(browser.locator("loyalty-widget [role=status]")).to_have_text("Copied")


def test_activity_pages_with_show_more(browser, storefront):
    store = storefront()
    browser.goto(f"{store}/?customer=c-ann")
    activity = open_widget(browser).locator("[data-part=activity]")
    assert activity.locator("li").count() == 5
    activity.locator("button", has_text="Show more").click()
    activity.locator("li").nth(6).wait_for()
    assert activity.locator("li").count() == 7  # the order and six awards
    assert activity.locator("button", has_text="Show more").count() == 0
    assert "Order #1001" in activity.locator("li").nth(6).inner_text()
    assert "+120" in activity.locator("li").nth(6).inner_text()


def test_the_keyboard_alone_opens_uses_and_closes_the_panel(browser, storefront):
    store = storefront()
    browser.goto(f"{store}/?customer=c-ann")
    browser.locator("loyalty-widget .launcher").wait_for()
    for _ in range(40):
        browser.keyboard.press("Tab")
        if focused(browser) == "launcher":
            break
    assert focused(browser) == "launcher"
    launcher = browser.locator("loyalty-widget .launcher")
    assert launcher.get_attribute("aria-expanded") == "false"
    browser.keyboard.press("Enter")
    browser.locator("loyalty-widget .body[aria-busy=false]").wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert focused(browser) == "in-panel"
    for _ in range(60):  # Tab stays inside the open panel
        browser.keyboard.press("Tab")
        assert focused(browser) == "in-panel"
    browser.keyboard.press("Escape")
    assert browser.locator("loyalty-widget .panel").is_hidden()
    assert focused(browser) == "launcher" and launcher.get_attribute("aria-expanded") == "false"


def test_escape_backs_out_of_a_redemption_and_closing_forgets_it(browser, storefront, session, shop):
    store = storefront()
    before = available(session, shop, "c-ann")
    session.rollback()
    browser.goto(f"{store}/?customer=c-ann")
    panel = open_widget(browser)
    card = panel.locator("li[data-reward]", has_text="5 off")
    card.locator("button", has_text="Redeem").click()
    card.locator("button", has_text="Yes, redeem").wait_for()
    browser.keyboard.press("Escape")  # the question goes; the panel stays
    assert panel.is_visible() and card.locator("button", has_text="Yes, redeem").count() == 0
    card.locator("button", has_text="Redeem").click()
    browser.locator("loyalty-widget .launcher").click()  # closing with the question open
    open_widget(browser)
    assert card.locator("button", has_text="Yes, redeem").count() == 0
    session.expire_all()
    assert available(session, shop, "c-ann") == before


def test_at_360_px_the_panel_takes_the_whole_screen(browser, storefront):
    store = storefront()
    browser.set_viewport_size({"width": 360, "height": 740})
    browser.goto(f"{store}/?customer=c-ann")
    panel = open_widget(browser)
    box = panel.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 360, 740)
    shot(browser, "member-360")
    card = panel.locator("li[data-reward]", has_text="5 off")
    card.locator("button", has_text="Redeem").click()
    card.locator("button", has_text="Yes, redeem").click()
    card.locator("input[data-copy]").wait_for()
    browser.locator("loyalty-widget [data-part=balance]", has_text="120").wait_for()  # 620 - 500, read again
    assert card.bounding_box()["width"] < 360
    shot(browser, "redeemed-360")
    panel.locator("button[aria-label=Close]").click()
    assert panel.is_hidden() and focused(browser) == "launcher"


def test_the_stores_hostile_css_breaks_neither_the_widget_nor_is_broken_by_it(browser, storefront, session, shop):
    store = storefront()
    balance = available(session, shop, "c-ann")
    session.rollback()
    browser.goto(f"{store}/hostile")
    assert browser.locator("header.top").evaluate("node => getComputedStyle(node).display") == "inline"  # all: unset
    assert browser.locator("section.grid article div").first.is_hidden()  # div { display: none }
    panel = open_widget(browser)
    box = panel.bounding_box()
    assert box["width"] == 384 and box["x"] > 800  # its own size, at the bottom right
    assert panel.locator("[data-part=balance]").inner_text() == f"{balance:,}"
    assert panel.locator("[data-part=balance]").evaluate("node => getComputedStyle(node).fontSize") == "34px"
    card = panel.locator("li[data-reward]", has_text="5 off")
    card.locator("button", has_text="Redeem").click()
    card.locator("button", has_text="Yes, redeem").click()
    assert card.locator("input[data-copy]").input_value()
    # And nothing of the widget's CSS reaches the page.
    assert "apple-system" not in browser.locator("footer").evaluate("node => getComputedStyle(node).fontFamily")


def test_an_origin_the_program_does_not_allow_gets_no_data(browser, storefront):
    store = storefront(allowed=False)
    refused = []
    browser.on("requestfailed", lambda request: refused.append(request.url))
    browser.goto(f"{store}/?customer=c-ann")
    browser.locator("loyalty-widget .launcher").click()
    alert = browser.locator("loyalty-widget [role=alert]")
    alert.wait_for()
    assert alert.inner_text() == DEFAULT_TEXTS["error"]
    assert browser.locator("loyalty-widget button", has_text="Try again").is_visible()
    assert browser.locator("loyalty-widget [data-part=balance]").count() == 0
    assert refused and all("/member/v1/acme/" in url for url in refused)  # CORS refused the platform's answers


def test_an_expired_token_shows_the_guest_view_with_a_note(browser, storefront, clock):
    store = storefront(store_clock=FrozenClock(clock.now() - timedelta(hours=2)))
    browser.goto(f"{store}/?customer=c-ann")
    panel = open_widget(browser)
    assert DEFAULT_TEXTS["signed_out"] in panel.inner_text()
    assert panel.locator("a", has_text="Sign in").is_visible()
    assert panel.locator("[data-part=balance]").count() == 0


def test_where_members_join_with_an_order_a_customer_is_asked_for_one(browser, storefront, session, shop, clock):
    store = storefront()
    update(session, shop, clock=clock, joins="order")
    session.commit()
    browser.goto(f"{store}/?customer=c-new")
    panel = open_widget(browser)
    assert DEFAULT_TEXTS["join_by_order"] in panel.inner_text()
    assert find_member(session, shop, "c-new") is None  # not enrolled by the widget
    session.rollback()


def test_the_programs_texts_and_looks_are_used(browser, storefront, session, shop, clock):
    store = storefront()
    update(
        session,
        shop,
        clock=clock,
        texts={"balance_label": "Deine Punkte", "points": "{points} Punkte", "panel_title": "Prämien bei {program}"},
        appearance={"accent": "#0f766e", "position": "bottom-left", "label": "Punkte {x}"},
    )
    session.commit()
    browser.goto(f"{store}/?customer=c-ann")
    launcher = browser.locator("loyalty-widget .launcher")
    launcher.wait_for()  # shown once the program's looks are in
    assert launcher.inner_text() == "Punkte {x}"  # a label is text: nothing is filled in
    assert launcher.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(15, 118, 110)"
    assert launcher.bounding_box()["x"] < 100
    panel = open_widget(browser)
    assert browser.locator("loyalty-widget #lw-title").inner_text() == "Prämien bei Acme"
    assert "DEINE PUNKTE" in panel.inner_text() and "500 Punkte" in panel.inner_text()


def test_the_admins_preview_draws_sample_data_without_the_network(browser, storefront):
    store = storefront()
    browser.goto(f"{store}/guest")
    browser.locator("loyalty-widget .launcher").wait_for()
    calls = []
    browser.on("request", lambda request: "/member/v1/" in request.url and calls.append(request.url))
    preview = browser.evaluate_handle(
        """texts => {
            const element = document.createElement("loyalty-widget");
            element.preview = {appearance: {accent: "#be123c", label: "Points"}, texts};  // before it is connected
            element.setAttribute("preview", "");
            element.id = "preview";
            document.body.append(element);
            return element;
        }""",
        DEFAULT_TEXTS,
    )
    panel = browser.locator("#preview .panel")
    assert panel.is_visible() and "Your store rewards" in panel.inner_text()
    assert browser.locator("#preview [data-part=balance]").inner_text() == "640"
    assert (
        browser.locator("#preview .launcher").evaluate("n => getComputedStyle(n).backgroundColor") == "rgb(190, 18, 60)"
    )
    preview.evaluate(
        "(element, texts) => { element.preview = {texts: {...texts, balance_label: 'Punkte'}, appearance: {}}; }",
        DEFAULT_TEXTS,
    )
    assert "PUNKTE" in panel.inner_text()
    assert (
        browser.locator("#preview .launcher").evaluate("n => getComputedStyle(n).backgroundColor") == "rgb(79, 70, 229)"
    )
    preview.evaluate("(element, texts) => { element.preview = {texts, view: 'guest'}; }", DEFAULT_TEXTS)
    assert "Create an account" in panel.inner_text()
    browser.locator("#preview .panel button").first.focus()
    browser.keyboard.press("Escape")
    assert panel.is_visible()  # the preview stays open
    assert calls == []


def test_the_script_included_twice_makes_one_widget(browser, storefront):
    store = storefront()
    browser.goto(f"{store}/guest")
    browser.locator("loyalty-widget .launcher").wait_for()
    browser.evaluate(
        """() => new Promise(resolve => {
            const again = document.createElement("script");
            again.src = document.querySelector("script[data-program]").src;
            again.dataset.program = "acme";
            again.onload = resolve;
            document.body.append(again);
        })"""
    )
    assert browser.locator("loyalty-widget").count() == 1
    assert browser.evaluate("Object.keys(window).filter(k => /loyal|widget/i.test(k))") == []


def test_a_member_turns_the_programs_emails_off_and_on_again(browser, storefront, session, shop):
    store = storefront()
    browser.goto(f"{store}/?customer=c-ann")
    panel = open_widget(browser)
    assert DEFAULT_TEXTS["emails"] in panel.locator("[data-part=email]").inner_text()
    for wanted in (False, True):
        box = panel.locator("[data-part=email] input[type=checkbox]")
        assert box.is_checked() is not wanted
        with browser.expect_response(lambda r: r.url.endswith("/me/subscription") and r.request.method == "PUT") as put:
            box.set_checked(wanted)
        assert put.value.status == 200 and put.value.json() == {"subscribed": wanted}
        panel.locator(f"[data-part=email] input{':checked' if wanted else ':not(:checked)'}").wait_for()
        session.expire_all()
        assert (get_member(session, shop, "c-ann").unsubscribed_at is None) is wanted
        session.rollback()
