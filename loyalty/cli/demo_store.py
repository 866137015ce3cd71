"""``loyalty demo-store``: a sample shop on its own origin, with the rewards widget embedded as a store embeds it.

The page is what a store's server would send: the one ``<script>`` tag,
with a member token made for this page view with the program's widget
secret (read from the database at each view, so a rotated secret is used
at once), or none for a guest. It is served from another origin than the
platform (another port), so the browser applies CORS exactly as on a
real store, and with a strict Content-Security-Policy (no inline script
or style), which the widget must live with. The browser tests serve the
same application (:func:`store_app`), so what they test is what the demo
shows.

Views: ``/`` signed in as the first demo member (``?customer=cust-ben``
another; ``&form=digest`` with the digest form instead of a JWT),
``/guest``, ``/hostile`` (signed in, on a page whose own CSS is hostile),
``/sign-in`` and ``/sign-up`` (where the widget's guest view links).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from loyalty import errors
from loyalty.cli.demo import CUSTOMERS, SLUG
from loyalty.clock import Clock, current_clock
from loyalty.db import db
from loyalty.programs.program import get_program
from loyalty.widget.settings import settings_of
from loyalty.widget.snippets import script_url
from loyalty.widget.tokens import digest, make_jwt


@dataclass(frozen=True)
class Shopper:
    external_id: str
    name: str | None = None
    email: str | None = None


#: The demo's members, by external id; the first is who ``/`` signs in.
DEMO_SHOPPERS = {c.external_id: Shopper(c.external_id, c.name, c.email) for c in CUSTOMERS.values()}
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")

PRODUCTS = [
    ("Espresso beans, 1 kg", "Single origin, roasted on Mondays", "40.00", "beans"),
    ("Stoneware mug", "Keeps it warm, 350 ml", "25.00", "mug"),
    ("Filter papers", "100 unbleached filters", "12.00", "filter"),
    ("Rain jacket", "Packs into its own pocket", "80.00", "jacket"),
    ("Trail shoes", "Grip on wet rock", "90.00", "shoes"),
    ("Wool hat", "Merino, one size", "35.00", "hat"),
]

STORE_CSS = """\
:root { --ink: #1c1917; --muted: #78716c; --line: #e7e5e4; --paper: #fafaf9; --brand: #7c2d12; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 Georgia, "Times New Roman", serif; color: var(--ink); background: var(--paper); }
a { color: inherit; }
.demo { margin: 0; padding: 10px 24px; background: #fef3c7; color: #78350f; font: 14px/1.5 system-ui, sans-serif; }
.demo a { margin-left: 12px; font-weight: 600; }
header.top { display: flex; align-items: center; gap: 32px; padding: 20px 24px; border-bottom: 1px solid var(--line);
  background: #fff; }
.logo { font-size: 24px; font-weight: 700; letter-spacing: -0.02em; color: var(--brand); text-decoration: none; }
nav { display: flex; gap: 20px; flex: 1; font: 15px system-ui, sans-serif; }
nav a { text-decoration: none; color: var(--muted); }
.account { font: 14px system-ui, sans-serif; color: var(--muted); }
.hero { padding: 56px 24px; background: #f5f5f4; }
.hero h1 { margin: 0 0 8px; font-size: 40px; line-height: 1.1; max-width: 640px; }
.hero p { margin: 0 0 20px; color: var(--muted); max-width: 560px; }
.cta { display: inline-block; padding: 12px 22px; background: var(--ink); color: #fff; text-decoration: none;
  font: 600 15px system-ui, sans-serif; border-radius: 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 24px; padding: 40px 24px; }
.product { background: #fff; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.picture { height: 150px; }
.beans { background: #78350f; } .mug { background: #d6d3d1; } .filter { background: #fde68a; }
.jacket { background: #1e3a8a; } .shoes { background: #4d7c0f; } .hat { background: #9f1239; }
.product h2 { margin: 14px 16px 2px; font-size: 18px; }
.product p { margin: 0 16px; color: var(--muted); font-size: 14px; }
.price { display: block; margin: 10px 16px 16px; font: 600 15px system-ui, sans-serif; }
footer { padding: 24px; border-top: 1px solid var(--line); color: var(--muted); font: 13px system-ui, sans-serif; }
.members { padding: 40px 24px; font-family: system-ui, sans-serif; }
.members li { margin: 6px 0; }
@media (max-width: 600px) { nav { display: none; } .hero h1 { font-size: 30px; } }
"""

#: What a careless theme could ship (alone on the page, so that nothing of the store's own CSS softens it): the widget
#: must look and work the same under it.
HOSTILE_CSS = "* { all: unset } div { display: none }\n"


def signed_in(secret: str, shopper: Shopper, *, clock: Clock, form: str = "jwt") -> dict[str, str]:
    """The tag's attributes for a signed-in shopper, as the store's server makes them: a JWT, or the digest form."""
    if form == "digest":
        timestamp = str(int(clock.now().timestamp()))
        return {
            "data-customer": shopper.external_id,
            "data-timestamp": timestamp,
            "data-digest": digest(secret, shopper.external_id, timestamp),
        }
    token = make_jwt(secret, shopper.external_id, clock=clock, email=shopper.email, name=shopper.name)
    return {"data-token": token}


def widget_tag(platform_url: str, program_slug: str, attributes: dict[str, str]) -> str:
    parts = {"src": script_url(platform_url), "data-program": program_slug, **attributes}
    return "<script " + " ".join(f'{name}="{escape(value)}"' for name, value in parts.items()) + " defer></script>"


def store_page(*, tag: str, notice: str, links: list[tuple[str, str]], account: str, hostile: bool = False) -> str:
    """The sample shop's page: ``notice`` says what the demo shows, ``links`` lead to the other views."""
    stylesheets = (
        '<link rel="stylesheet" href="/hostile.css">' if hostile else '<link rel="stylesheet" href="/store.css">'
    )
    products = "".join(
        f'<article class="product"><div class="picture {css}"></div><h2>{escape(name)}</h2><p>{escape(blurb)}</p>'
        f'<span class="price">USD {price}</span></article>'
        for name, blurb, price, css in PRODUCTS
    )
    others = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in links)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Demo Outfitters</title>{stylesheets}</head><body>"
        f'<p class="demo">{escape(notice)}{others}</p>'
        '<header class="top"><a class="logo" href="/">Demo Outfitters</a>'
        '<nav><a href="/">Coffee</a><a href="/">Outdoor</a><a href="/">Sale</a></nav>'
        f'<span class="account">{escape(account)}</span></header>'
        '<main><section class="hero"><h1>Gear for slow mornings and long walks</h1>'
        "<p>Every order earns points. Open Rewards, bottom right, to see yours and spend them.</p>"
        '<a class="cta" href="/">Shop coffee</a></section>'
        f'<section class="grid" aria-label="Products">{products}</section></main>'
        "<footer>Demo Outfitters is not a real shop: it shows the loyalty platform's storefront widget.</footer>"
        f"{tag}</body></html>"
    )


def members_page(shoppers: dict[str, Shopper], title: str) -> str:
    rows = "".join(
        f'<li><a href="/?{urlencode({"customer": s.external_id})}">{escape(s.name or s.external_id)}</a></li>'
        for s in shoppers.values()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo Outfitters</title>'
        '<link rel="stylesheet" href="/store.css"></head><body>'
        '<header class="top"><a class="logo" href="/">Demo Outfitters</a></header>'
        f'<section class="members"><h1>{escape(title)}</h1>'
        "<p>The demo store has no accounts of its own: pick a demo member to be signed in as.</p>"
        f'<ul>{rows}</ul><p><a href="/guest">Stay a guest</a></p></section></body></html>'
    )


def store_app(
    *,
    platform_url: str,
    program_slug: str,
    secret: Callable[[], str | None],
    clock: Clock,
    shoppers: dict[str, Shopper] = DEMO_SHOPPERS,
):
    """The sample shop as a WSGI application; ``secret()`` is the program's widget secret now (``None``: off)."""
    platform = "{0.scheme}://{0.netloc}".format(urlsplit(platform_url))
    policy = "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {platform}",
            f"connect-src {platform}",
            "img-src 'self' data:",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
        )
    )
    first = next(iter(shoppers))
    links = [
        ("Signed in", "/"),
        ("Another member", "/?customer=" + next((s for s in shoppers if s != first), first)),
        ("Digest form", "/?form=digest"),
        ("Guest", "/guest"),
        ("Hostile CSS", "/hostile"),
    ]

    def page(request: Request) -> Response:
        customer = None if request.path == "/guest" else request.args.get("customer", first)
        if customer is not None and not CUSTOMER_ID.match(customer):
            return Response("customer: letters, digits, . _ - (at most 64)", status=400, mimetype="text/plain")
        shopper = (shoppers.get(customer) or Shopper(customer)) if customer else None
        key = secret() if shopper else None
        attributes = {}
        if shopper is None:
            notice = "Demo store: nobody is signed in, so the widget shows its guest view."
        elif key is None:
            notice = f"Demo store: the widget of {program_slug} is not enabled (run loyalty demo), so this is a guest."
        else:
            form = "digest" if request.args.get("form") == "digest" else "jwt"
            attributes = signed_in(key, shopper, clock=clock, form=form)
            made = "a digest (the Shopify/WooCommerce form)" if form == "digest" else "a member token (JWT)"
            notice = (
                f"Demo store: signed in as {shopper.name or customer} ({customer}), with {made} made for this page "
                "view with the program's widget secret, as a store's server makes it."
            )
        hostile = request.path == "/hostile"
        if hostile:
            notice += " This page's own CSS is hostile: * { all: unset } and div { display: none }."
        html = store_page(
            tag=widget_tag(platform_url, program_slug, attributes),
            notice=notice,
            links=links,
            account=(shopper.name or shopper.external_id) if shopper else "Sign in",
            hostile=hostile,
        )
        return _html(html, policy)

    @Request.application
    def application(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("GET only", status=405, mimetype="text/plain")
        if request.path == "/store.css":
            return Response(STORE_CSS, mimetype="text/css")
        if request.path == "/hostile.css":
            return Response(HOSTILE_CSS, mimetype="text/css")
        if request.path == "/favicon.ico":
            return Response(status=204)
        if request.path in ("/sign-in", "/sign-up"):
            title = "Sign in" if request.path == "/sign-in" else "Create an account"
            return _html(members_page(shoppers, title), policy)
        if request.path in ("/", "/guest", "/hostile"):
            return page(request)
        return Response("Not found", status=404, mimetype="text/plain")

    return application


def _html(body: str, policy: str) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "no-store"  # a fresh member token at every view
    return response


@click.command("demo-store")
@click.option("--bind", default="127.0.0.1:8001", show_default=True, help="Address and port of the store.")
@click.option(
    "--platform", "platform_url", default="http://127.0.0.1:8000", show_default=True, help="Where the platform is."
)
@click.option("--program", "program_slug", default=SLUG, show_default=True)
@with_appcontext
def demo_store(bind, platform_url, program_slug):
    """Serve a sample store page with the rewards widget (make demo runs it beside the platform)."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("write it host:port, like 127.0.0.1:8001", param_hint="--bind")
    app = current_app._get_current_object()

    def secret() -> str | None:
        with app.app_context():
            try:
                settings = settings_of(db.session, get_program(db.session, program_slug))
                return settings.secret if settings is not None and settings.enabled else None
            except errors.UnknownProgram:
                return None
            finally:
                db.session.remove()

    store = f"http://{bind}"
    click.echo(f"Demo store for program {program_slug} at {store}/ (the widget from {platform_url}):")
    click.echo(f"  {store}/  {store}/?customer=cust-ben  {store}/guest  {store}/hostile")
    run_simple(
        host,
        int(port),
        store_app(platform_url=platform_url, program_slug=program_slug, secret=secret, clock=current_clock()),
        threaded=True,
    )


def register(main) -> None:
    main.add_command(demo_store)
