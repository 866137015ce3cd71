"""The demo store (``loyalty demo-store``): the page a store's server would send, with a fresh member token."""

from __future__ import annotations

import re
from html import unescape

import pytest
from werkzeug.test import Client

from loyalty.cli.demo_store import Shopper, store_app
from loyalty.widget.tokens import digest, digest_token, read_token
from tests.helpers.cli import fails

SECRET = "lw_demo-store-test-secret-long-enough-for-hs256"
PLATFORM = "http://platform.test:8000"
XSS = "<script>alert(1)</script>"


@pytest.fixture
def store(clock):
    secret = {"key": SECRET}
    shoppers = {"cust-ann": Shopper("cust-ann", "Ann Archer", "ann@example.com"), "cust-x": Shopper("cust-x", XSS)}
    client = Client(
        store_app(
            platform_url=PLATFORM, program_slug="acme", secret=lambda: secret["key"], clock=clock, shoppers=shoppers
        )
    )
    client.secret = secret
    return client


def tag(page: str) -> dict:
    """The widget's script tag's attributes."""
    found = re.search(r"<script ([^>]*) defer></script>", page).group(1)
    return {name: unescape(value) for name, value in re.findall(r'([\w-]+)="([^"]*)"', found)}


def test_the_page_carries_a_member_token_the_platform_accepts(store, clock):
    response = store.get("/")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' {PLATFORM}" in policy and f"connect-src {PLATFORM}" in policy
    assert "style-src 'self'" in policy  # no inline style: the widget must do without
    attributes = tag(response.text)
    assert attributes["src"] == f"{PLATFORM}/widget/v1/loyalty.js" and attributes["data-program"] == "acme"
    claims = read_token(attributes["data-token"], SECRET, clock=clock)
    assert (claims.external_id, claims.name, claims.email) == ("cust-ann", "Ann Archer", "ann@example.com")
    assert "signed in as Ann Archer (cust-ann)" in response.text


def test_the_digest_form_for_another_customer(store, clock):
    attributes = tag(store.get("/?customer=cust-ben&form=digest").text)
    assert attributes["data-customer"] == "cust-ben" and "data-token" not in attributes
    timestamp = attributes["data-timestamp"]
    assert timestamp == str(int(clock.now().timestamp()))
    assert attributes["data-digest"] == digest(SECRET, "cust-ben", timestamp)
    token = digest_token("cust-ben", timestamp, attributes["data-digest"])
    assert read_token(token, SECRET, clock=clock).external_id == "cust-ben"


def test_the_guest_and_hostile_pages(store):
    guest = store.get("/guest").text
    assert set(tag(guest)) == {"src", "data-program"} and "guest view" in guest
    hostile = store.get("/hostile").text
    assert '<link rel="stylesheet" href="/hostile.css">' in hostile and "/store.css" not in hostile
    assert "data-token" in tag(hostile)
    assert store.get("/hostile.css").text == "* { all: unset } div { display: none }\n"
    assert store.get("/store.css").mimetype == "text/css"


def test_without_a_secret_the_page_is_a_guests(store):
    store.secret["key"] = None
    page = store.get("/").text
    assert set(tag(page)) == {"src", "data-program"} and "is not enabled" in page


def test_names_and_ids_are_text_and_odd_requests_are_refused(store):
    page = store.get("/?customer=cust-x").text
    assert XSS not in page and "&lt;script&gt;" in page
    refused = store.get("/?customer=%3Cscript%3E")
    assert refused.status_code == 400 and "<script>" not in refused.text
    assert store.get("/?customer=" + "a" * 65).status_code == 400
    assert store.get("/admin").status_code == 404
    assert store.post("/").status_code == 405
    sign_in = store.get("/sign-in").text
    assert 'href="/?customer=cust-ann"' in sign_in and 'href="/guest"' in sign_in


def test_the_command_wants_host_and_port(runner):
    assert "host:port" in fails(runner, "demo-store", "--bind", "8001")
