"""The test's app served over HTTP, and a tab of Debian's headless Chromium (driven by Playwright) on it.

``server`` is a fixture (import it by name); :func:`tab` opens a tab at a
chosen width and, when the block ends, checks that no message about the
Content-Security-Policy was logged (a refused script, style or request
would be one). Every browser test uses these (and :data:`CHROMIUM`,
:data:`needs_chromium`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.live_server import threaded

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def server(app):
    """The test's app served over HTTP on localhost (a browser keeps Secure cookies there)."""
    with threaded(app, host="localhost") as url:
        yield url


@contextmanager
def tab(server: str, *, width: int = 1280, height: int = 900):
    """A browser tab on ``server``, ``width`` pixels wide (390 for a phone); no CSP message when it closes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(base_url=server, viewport={"width": width, "height": height})
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda message: messages.append(message.text))
        page.on("pageerror", lambda error: messages.append(f"page error: {error}"))
        try:
            yield page
        finally:
            browser.close()
        refused = [text for text in messages if "Content Security Policy" in text or "Content-Security-Policy" in text]
        assert not refused, refused
        assert not [text for text in messages if text.startswith("page error")], messages


def open_from_menu(page, link: str) -> None:
    """Follow a link of the admin's navigation as a person does: on a phone, through its "Menu" first."""
    summary = page.locator("details.menu > summary")
    if summary.is_visible() and not page.locator("details.menu").evaluate("menu => menu.open"):
        summary.click()
    page.click(f"header nav >> text={link}")
