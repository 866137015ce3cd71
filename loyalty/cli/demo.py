"""``loyalty demo``: a demo program that shows what the platform does so far.

Safe to run again: every entry uses a fixed idempotency key, orders and
events replay as duplicates, so a second run changes nothing (the
ledger's idempotency, on show).
"""

from __future__ import annotations

import base64
import json
import time
from datetime import date, timedelta
from decimal import Decimal
from secrets import token_bytes, token_urlsafe

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from loyalty import errors
from loyalty.access.admin_users import create_admin, set_password
from loyalty.access.api_keys import create_key, list_keys, revoke_key
from loyalty.cli.common import transactional
from loyalty.cli.lazy import serves_requests
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.events import Customer
from loyalty.earning.pipeline import enrol
from loyalty.earning.rules import add_rule, list_rules
from loyalty.invariants import verify
from loyalty.jobs import run_job
from loyalty.ledger import Ledger
from loyalty.messages import destinations, sending
from loyalty.models import AdminUser, Delivery, Member
from loyalty.plugins.storefronts.standard_webhooks import sign
from loyalty.programs.members import get_member
from loyalty.programs.program import create_program, get_program, update_program
from loyalty.referrals import link_for, list_referrals, set_terms
from loyalty.registry import current_registry
from loyalty.rewards import add_reward, import_codes, list_rewards, update_reward
from loyalty.storefronts.adapters import hmac_sha256
from loyalty.storefronts.connections import add_storefront, find_storefront
from loyalty.tiers.levels import add_tier, list_tiers, set_member_tier, set_scheme
from loyalty.widget.settings import check_origin, enable, settings_of, update

SLUG = "demo"
ADMIN_EMAIL = "owner@demo.example"
API_KEY_NAME = "demo headless shop"

CUSTOMERS = {
    "cust-ann": Customer("cust-ann", "ann@example.com", "Ann Archer", date(1990, 4, 12)),
    "cust-ben": Customer("cust-ben", "ben@example.com", "Ben Baker"),
    "cust-cara": Customer("cust-cara", "cara@example.com", "Cara Cruz", date(1985, 11, 30)),
    "cust-dan": Customer("cust-dan", "dan@example.com", "Dan Diaz"),
    "cust-fay": Customer("cust-fay", "fay@example.com", "Fay Fox"),
    "cust-gus": Customer("cust-gus", "gus@example.com", "Gus Gray"),
}

#: The reward catalog: type, name, points (per step for store credit), options. The last one is paused: it is
#: not for sale, only the referred friend's welcome gift.
REWARDS = [
    (
        "fixed_amount_code",
        "5 off",
        500,
        {"config": {"amount": "5.00", "prefix": "DEMO", "expires_days": 90}, "limit_per_member": 3},
    ),
    ("store_credit", "Store credit", 100, {"config": {}, "step_value": "1.00", "min_points": 200, "max_points": 5000}),
    ("free_shipping_code", "Free shipping", 100, {"config": {"prefix": "SHIP"}}),
    (
        "free_product",
        "Canvas tote (Gold)",
        800,
        {"config": {"title": "Canvas tote", "sku": "TOTE", "use_pool": True}, "min_tier": "Gold", "stock": 50},
    ),
    ("percentage_code", "Welcome 10% off", 1, {"config": {"percent": "10", "expires_days": 30}}),
]
#: Codes for the tote made in the store's own admin, imported as a pool.
TOTE_CODES = ["TOTE-FREE-1001", "TOTE-FREE-1002", "TOTE-FREE-1003"]

#: Referral terms: 500 points for the referrer, 250 for the friend, once the 7-day return window has passed.
REFERRAL_TERMS = {
    "referrer_points": 500,
    "friend_points": 250,
    "min_order": "25.00",
    "monthly_cap": 10,
    "link": "https://demo-outfitters.example/?ref={code}",
}

RULES = [
    ("points_per_currency", "Base rate", {"points_per_unit": "1"}),
    ("product_multiplier", "Triple points on coffee", {"multiplier": "3", "skus": ["BEANS-1KG", "FILTER-100"]}),
    ("first_order_bonus", "First order bonus", {"points": 100}),
    ("signup_bonus", "Welcome bonus", {"points": 50}),
    ("custom_event", "Product review", {"event_name": "review_written", "points": 25, "limit": 3, "per": "month"}),
]

#: name, rank, earn multiplier, points earned in a year to reach it, to keep it, perks
TIERS = [
    ("Bronze", 1, "1", "0", None, None),
    ("Silver", 2, "1.25", "200", "150", "Free shipping over $50"),
    ("Gold", 3, "1.5", "500", "400", "Free shipping, early access to sales"),
]
TIER_SCHEME = ("points_earned", {"window": "rolling", "window_days": 365, "downgrade": "after_grace", "grace_days": 30})


def _shopify_order(order_id, customer, when, lines, *, discount_code=None, landing_site=None):
    """A Shopify ``orders/paid`` payload (the fields the adapter reads); a discount code takes 5.00 off."""
    subtotal = sum((Decimal(price) for _, _, price in lines), Decimal(0))
    discount = Decimal("5.00") if discount_code else Decimal("0.00")
    person = CUSTOMERS[customer]
    first, _, last = (person.name or "").partition(" ")
    return {
        "id": order_id,
        "currency": "USD",
        "financial_status": "paid",
        "processed_at": when.isoformat(),
        "total_line_items_price": str(subtotal),
        "total_discounts": str(discount),
        "total_tax": "0.00",
        "total_price": str(subtotal - discount),
        "shipping_lines": [],
        "landing_site": landing_site,
        "discount_codes": [{"code": discount_code, "amount": str(discount), "type": "fixed_amount"}]
        if discount_code
        else [],
        "customer": {"id": customer, "email": person.email, "first_name": first, "last_name": last},
        "line_items": [
            {"id": i, "title": title, "sku": sku, "quantity": 1, "price": price, "product_id": None}
            for i, (title, sku, price) in enumerate(lines, start=1)
        ],
    }


class _Store:
    """Sends the demo's webhooks through the real intake, signed like the stores sign them."""

    def __init__(self, program, secrets):
        self.client = current_app.test_client()
        self.program, self.secrets = program, secrets

    def shopify(self, topic, payload, webhook_id):
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac_sha256(self.secrets["shopify"].encode(), body)).decode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Webhook-Id": webhook_id,
            "Content-Type": "application/json",
        }
        return self._post("shopify", body, headers)

    def standard(self, event, msg_id):
        body = json.dumps(event).encode()
        timestamp = int(current_clock().now().timestamp())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.secrets["standard_webhooks"], msg_id, timestamp, body),
            "Content-Type": "application/json",
        }
        return self._post("standard_webhooks", body, headers)

    def api(self, method, path, key, body=None, **headers):
        """A headless shop calling the REST API with the program's key."""
        db.session.commit()  # as for webhooks: the caller is another party
        response = self.client.open(
            f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {key}", **headers}
        )
        if response.status_code >= 300:
            raise click.ClickException(f"the demo's API call {method} {path} was refused: {response.get_json()}")
        return response.get_json()

    def _post(self, storefront, body, headers):
        url = f"/webhooks/{self.program.slug}/{storefront}"
        # The store is another party: it sees what is committed, and the
        # intake stores on its own connection, which this session must not block.
        db.session.commit()
        response = self.client.post(url, data=body, headers=headers)
        if response.status_code >= 300:
            raise click.ClickException(f"the demo's {storefront} webhook was refused: {response.get_json()}")
        return response.get_json()["status"]


#: The widget's looks for the demo store (set when the widget is first enabled; the admin may change them).
WIDGET_APPEARANCE = {"accent": "#7c2d12", "label": "Rewards"}


def enable_widget(session, program, store_url: str) -> str:
    """The widget on for the demo store's origin, linking to its sign-in pages; the store's origin.

    Idempotent: the secret is made once and kept (``enable`` never replaces
    it), and nothing is written when the widget is already set up so.
    """
    origin = check_origin(store_url)
    settings = settings_of(session, program)
    first = settings is None
    if first or not settings.enabled or origin not in settings.origins:
        enable(session, program, origins=[origin], clock=current_clock())
        settings = settings_of(session, program)
    links = {"sign_in_url": f"{origin}/sign-in", "sign_up_url": f"{origin}/sign-up"}
    if first:
        update(session, program, clock=current_clock(), appearance=WIDGET_APPEARANCE, **links)
    elif any(getattr(settings, name) != value for name, value in links.items()):
        update(session, program, clock=current_clock(), **links)
    return origin


class Nobody:
    name = "-"


def build_demo(session) -> dict:
    """Create (or find) the demo program and play its story through signed webhooks."""
    registry = current_registry()
    try:
        program = get_program(session, SLUG)
    except errors.UnknownProgram:
        program = create_program(
            session, slug=SLUG, name="Demo Outfitters", currency="USD", return_window_days=7, clock=current_clock()
        )
        update_program(session, program, expiry_policy="end_of_year", expiry_after=1)
    if not list_tiers(session, program):
        for name, rank, multiplier, threshold, keep, perks in TIERS:
            add_tier(
                session,
                program,
                name=name,
                rank=rank,
                earn_multiplier=multiplier,
                threshold=threshold,
                keep_threshold=keep,
                perks=perks,
                clock=current_clock(),
            )
        set_scheme(session, program, registry, *TIER_SCHEME)
    if not list_rewards(session, program):
        made = {
            name: add_reward(
                session, program, registry, type=type_, name=name, points=points, clock=current_clock(), **options
            )
            for type_, name, points, options in REWARDS
        }
        import_codes(session, program, made["Canvas tote (Gold)"], TOTE_CODES, clock=current_clock())
        update_reward(session, program, made["Welcome 10% off"], active=False, clock=current_clock())
    if program.referral_terms is None:
        welcome = next(r for r in list_rewards(session, program) if r.name == "Welcome 10% off")
        set_terms(program, registry, **REFERRAL_TERMS, friend_reward=welcome.id)
    if not list_rules(session, program):
        for type_, name, config in RULES:
            add_rule(session, program, registry, type=type_, name=name, config=config, clock=current_clock())
    secrets = {}
    for kind, make in (
        ("shopify", lambda: token_urlsafe(24)),
        ("standard_webhooks", lambda: "whsec_" + base64.b64encode(token_bytes(24)).decode()),
    ):
        storefront = find_storefront(session, program, kind) or add_storefront(
            session, program, registry, type=kind, secret=make(), clock=current_clock()
        )
        secrets[kind] = storefront.secret
    for external_id in ("cust-ann", "cust-ben", "cust-cara"):
        enrol(session, program, CUSTOMERS[external_id], registry=registry, clock=current_clock())
    ann, cara = get_member(session, program, "cust-ann"), get_member(session, program, "cust-cara")
    if ann.tier_floor_id is None:  # a VIP given Gold by hand for her first 90 days: a floor no recalculation breaks
        gold = next(t for t in list_tiers(session, program) if t.name == "Gold")
        set_member_tier(
            session,
            ann,
            gold,
            until=program.created_at + timedelta(days=90),
            clock=current_clock(),
            registry=current_registry(),
        )
    session.commit()  # the webhooks below are separate requests, with their own transactions

    # Dates hang off the program's creation, not the wall clock, so that a
    # re-run sends exactly the same deliveries and they come back duplicates.
    start = program.created_at
    month_ago = start - timedelta(days=30)
    store = _Store(program, secrets)
    deliveries = [
        # Ann (Gold, x1.5): a coffee-heavy first order a month ago, a new order in the return window.
        store.shopify(
            "orders/paid",
            _shopify_order(
                1001, "cust-ann", month_ago, [("Espresso beans 1 kg", "BEANS-1KG", "40.00"), ("Mug", "MUG", "25.00")]
            ),
            "demo-1001",
        ),
        store.shopify(
            "orders/paid",
            _shopify_order(1002, "cust-ann", start, [("Filter papers", "FILTER-100", "12.00")]),
            "demo-1002",
        ),
        store.standard(
            {
                "type": "custom_event",
                "event_id": "review-1",
                "name": "review_written",
                "customer": {"external_id": "cust-ann"},
            },
            "demo-review-1",
        ),
        # Ben: an order, half of it refunded: the points follow the money.
        store.shopify(
            "orders/paid",
            _shopify_order(2001, "cust-ben", month_ago, [("Rain jacket", "JACKET", "80.00")]),
            "demo-2001",
        ),
        store.shopify(
            "refunds/create",
            {
                "id": 9001,
                "order_id": 2001,
                "processed_at": month_ago.isoformat(),
                "transactions": [{"kind": "refund", "status": "success", "amount": "40.00", "currency": "USD"}],
            },
            "demo-r-9001",
        ),
        # Cara: an order cancelled inside the return window.
        store.shopify(
            "orders/paid",
            _shopify_order(3001, "cust-cara", start - timedelta(days=3), [("Boots", "BOOTS", "60.00")]),
            "demo-3001",
        ),
        store.shopify(
            "orders/cancelled", {"id": 3001, "cancelled_at": (start - timedelta(days=2)).isoformat()}, "demo-c-3001"
        ),
        # Dan: signed up in the store, no order yet.
        store.shopify(
            "customers/create",
            {"id": "cust-dan", "email": "dan@example.com", "first_name": "Dan", "last_name": "Diaz"},
            "demo-cust-dan",
        ),
        # Referrals. Fay, Ann's friend, used Ann's code at checkout a month ago: past the review period, rewarded.
        store.shopify(
            "orders/paid",
            _shopify_order(
                6001, "cust-fay", month_ago, [("Trail shoes", "SHOES", "90.00")], discount_code=ann.referral_code
            ),
            "demo-6001",
        ),
        # Cara came in through her own share link: a self-referral, rejected.
        store.shopify(
            "orders/paid",
            _shopify_order(
                3002, "cust-cara", start, [("Socks", "SOCKS", "30.00")], landing_site=f"/?ref={cara.referral_code}"
            ),
            "demo-3002",
        ),
    ]
    session.expire_all()

    # A headless shop on the REST API: a fresh key each run (the previous demo keys are revoked).
    for old_key in list_keys(session, program):
        if old_key.name == API_KEY_NAME:
            revoke_key(session, program, old_key.prefix, clock=current_clock())
    api_key = create_key(session, program, name=API_KEY_NAME, clock=current_clock()).secret
    store.api("POST", "/members", api_key, {"external_id": "cust-eve", "email": "eve@example.com", "name": "Eve Evans"})
    store.api(
        "POST",
        "/events",
        api_key,
        {"event_id": "demo-review-eve", "name": "review_written", "member": {"external_id": "cust-eve"}},
    )
    store.api(
        "POST",
        "/members/cust-eve/adjustments",
        api_key,
        {"points": 15, "reason": "Photo in the review"},
        **{"Idempotency-Key": "demo-adjust-eve"},
    )
    eve = store.api("GET", "/members/cust-eve", api_key)
    # Ben's share link brought Gus (the shop tells the API when he lands), who then ordered: converted, in review.
    ben = get_member(session, program, "cust-ben")
    store.api(
        "POST",
        "/referrals",
        api_key,
        {"code": ben.referral_code, "friend": {"external_id": "cust-gus"}, "ip": "198.51.100.7"},
    )
    deliveries.append(
        store.shopify(
            "orders/paid", _shopify_order(7001, "cust-gus", start, [("Wool hat", "HAT", "35.00")]), "demo-7001"
        )
    )
    # Then three more "friends" from Gus's IP address within minutes: the third is flagged for a person.
    for friend in ("cust-hal", "cust-ian", "cust-jo"):
        store.api(
            "POST",
            "/referrals",
            api_key,
            {"code": ben.referral_code, "friend": {"external_id": friend}, "ip": "198.51.100.7"},
        )
    session.expire_all()

    # The scheduler's jobs, run now: last month's orders are past their return window; tiers recalculated;
    # the days of those orders rolled up for the dashboard.
    job_runs = [
        run_job(session, name, clock=current_clock(), registry=current_registry())
        for name in ("release", "referrals", f"tiers:{SLUG}", "expire", "birthdays", "rollups")
    ]
    # Redemptions through the API: Ann (Gold) takes a tote code from the pool, Fay spends 300 points on credit.
    catalog = {r["name"]: r for r in store.api("GET", "/rewards?member=cust-ann", api_key)}
    redeemed = [
        (
            "cust-ann",
            store.api(
                "POST",
                "/members/cust-ann/redemptions",
                api_key,
                {"reward_id": catalog["Canvas tote (Gold)"]["id"]},
                **{"Idempotency-Key": "demo-tote-ann"},
            ),
        ),
        (
            "cust-fay",
            store.api(
                "POST",
                "/members/cust-fay/redemptions",
                api_key,
                {"reward_id": catalog["Store credit"]["id"], "points": 300},
                **{"Idempotency-Key": "demo-credit-fay"},
            ),
        ),
    ]
    redeemed += [
        ("cust-fay", gift)
        for gift in store.api("GET", "/members/cust-fay/redemptions?status=issued", api_key)["data"]
        if gift["points"] == 0
    ]
    session.expire_all()
    # A program manager's account for the admin: a new password each run, printed once.
    password = token_urlsafe(12)
    owner = session.scalar(select(AdminUser).where(AdminUser.email == ADMIN_EMAIL))
    if owner is None:
        create_admin(session, email=ADMIN_EMAIL, password=password, role="owner", clock=current_clock())
    else:
        set_password(owner, password)
    ledger = Ledger(session, current_clock())
    ledger.adjust(
        get_member(session, program, "cust-dan"),
        20,
        key="demo:adjust-dan-1",
        reason="Apology for a late delivery",
        actor="demo",
    )
    return {
        "program": program,
        "deliveries": deliveries,
        "api_key": api_key,
        "api_member": eve,
        "jobs": job_runs,
        "admin_password": password,
        "catalog": list(catalog.values()),
        "redeemed": redeemed,
        "referrals": list(reversed(list_referrals(session, program))),
        "codes": {m.id: m.external_id for m in session.scalars(select(Member).where(Member.program_id == program.id))},
        "tiers": {
            external_id: (get_member(session, program, external_id).tier or Nobody).name
            for external_id in (*CUSTOMERS, "cust-eve")
        },
        "balances": {
            external_id: ledger.balances(get_member(session, program, external_id).id)
            for external_id in (*CUSTOMERS, "cust-eve")
        },
    }


#: The events whose points left the member's balance.
TAKEN = ("points.redeemed", "points.reversed", "points.expired", "reward.redeemed")


def line(event: dict) -> str:
    """One received event as the demo prints it: type, member, points."""
    data = event.get("data") or {}
    member = (data.get("member") or {}).get("external_id") or "-"
    points = data.get("points")
    if isinstance(points, int) and not isinstance(points, bool) and event.get("type") in TAKEN:
        points = -points  # events carry how many points moved; these took them from the member
    said = f"{points:+} points" if isinstance(points, int) and not isinstance(points, bool) else ""
    return f"{event.get('type', '?'):20} {member:10} {said}".rstrip()


def connect_receiver(session, program, receiver_url: str) -> dict:
    """The demo's outbound endpoint on the local receiver (added once), a test event, and everything due sent.

    The receiver is on this machine, so private addresses are allowed for
    this command's process only (``OUTBOUND_ALLOW_PRIVATE``); ``loyalty
    serve`` and the worker keep refusing them unless configured so.
    Returns the endpoint, what was sent, how many deliveries still wait, and
    the receiver's last events (``None`` when it did not answer).
    """
    settings = current_app.config
    settings["OUTBOUND_ALLOW_PRIVATE"] = True
    url = receiver_url.rstrip("/") + "/hooks"
    endpoint = next(
        (d for d in destinations.find(session, program=program, channel="webhook") if d.config.get("url") == url),
        None,
    )
    if endpoint is None:
        endpoint = destinations.add(
            session,
            program,
            channel="webhook",
            config={"url": url},
            events=["*"],
            clock=current_clock(),
            registry=current_registry(),
            settings=settings,
            name="Demo receiver",
        )
    destinations.send_test(session, endpoint, "points.earned", clock=current_clock())
    session.commit()
    for _ in range(50):  # make demo has just started the receiver: give it a few seconds to listen
        if _received(receiver_url) is not None:
            break
        time.sleep(0.2)
    sent = sending.send_due(
        session,
        registry=current_registry(),
        settings=settings,
        clock=current_clock(),
        budget=timedelta(seconds=20),
    )
    session.commit()
    waiting = session.scalar(
        select(func.count()).where(Delivery.destination_id == endpoint.id, Delivery.status.in_(("pending", "sending")))
    )
    return {"endpoint": endpoint, "sent": sent, "waiting": waiting, "received": _received(receiver_url)}


def _received(receiver_url: str) -> list[dict] | None:
    """The receiver's last events (``GET /events``), or ``None`` if it did not answer."""
    import httpx  # here: every other command starts without it

    try:
        answer = httpx.get(receiver_url.rstrip("/") + "/events", timeout=5, trust_env=False)
        answer.raise_for_status()
        return answer.json()
    except (httpx.HTTPError, ValueError):
        return None


@serves_requests
@click.command("demo")
@click.option(
    "--url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where the platform will be served, for the links printed (make demo passes its HOST and PORT).",
)
@click.option(
    "--store-url",
    default="http://127.0.0.1:8001",
    show_default=True,
    help="Where the demo store (loyalty demo-store) will be served: the widget is enabled for its origin.",
)
@click.option(
    "--receiver-url",
    default=None,
    help="A receiver of outbound webhooks (loyalty demo-receiver; make demo starts one): the demo adds an "
    "endpoint there and sends its events.",
)
@with_appcontext
@transactional
def demo(url, store_url, receiver_url):
    """Create a demo program with tiers, rules, members and orders (safe to re-run)."""
    result = build_demo(db.session)
    store = enable_widget(db.session, result["program"], store_url)
    db.session.flush()
    violations = verify(db.session, SLUG)
    if violations:
        raise click.ClickException("the demo broke an invariant: " + "; ".join(map(str, violations)))
    outbound = connect_receiver(db.session, result["program"], receiver_url) if receiver_url else None
    program = result["program"]
    click.echo(
        f"Demo program '{program.slug}' ({program.name}) is ready: "
        f"{len(TIERS)} tiers, {len(RULES)} earning rules, {len(result['balances'])} members."
    )
    click.echo(
        f"{len(result['deliveries'])} signed Shopify and Standard Webhooks deliveries went through "
        f"POST /webhooks/{program.slug}/…: {', '.join(result['deliveries'])}. Balances:"
    )
    for external_id, balances in result["balances"].items():
        click.echo(
            f"  {external_id:10} available {balances['available']:>5}   pending {balances['pending']:>5}"
            f"   tier {result['tiers'][external_id]}"
        )
    click.echo(
        "Tiers by points earned in the last 365 days (Silver from 200, Gold from 500; Ann's Gold is a "
        "manual floor); points expire at the end of the next calendar year."
    )
    click.echo(
        "Scheduled jobs run now: "
        + "; ".join(
            f"{run.job} {run.status} ({', '.join(f'{k} {v}' for k, v in (run.counts or {}).items())})"
            for run in result["jobs"]
        )
        + " — loyalty jobs list; loyalty scheduler runs them on their timetable."
    )
    click.echo(
        f"\nReferrals: {REFERRAL_TERMS['referrer_points']} points for the referrer and "
        f"{REFERRAL_TERMS['friend_points']} for the friend after the 7-day review period "
        f"(first order, at least {REFERRAL_TERMS['min_order']} USD after discounts)."
    )
    ann = get_member(db.session, program, "cust-ann")
    click.echo(f"  Ann's code {ann.referral_code}, link {link_for(program, ann.referral_code)}")
    for referral in result["referrals"]:
        note = referral.reason or ""
        if referral.status == "rewarded":
            note = f"+{referral.referrer_points} referrer, +{referral.friend_points} friend"
        elif referral.status == "converted":
            note = f"in review until {referral.review_until:%Y-%m-%d}"
        click.echo(
            f"  {result['codes'][referral.referrer_id]:9} -> {referral.friend_external_id:9} via {referral.via:13}"
            f" {referral.status:9} {note}".rstrip()
        )
    click.echo(
        f"  Review flagged ones: loyalty referrals list --program {SLUG} --status flagged; "
        f"loyalty referrals approve|reject --program {SLUG} ID"
    )
    click.echo("\nRewards (GET /api/v1/rewards; 'for Ann' says what she can have now):")
    for reward in result["catalog"]:
        price = (
            f"{reward['points']} points"
            if reward["pricing"] == "fixed"
            else f"{reward['points']} points = {reward['step_value']} USD, {reward['min_points']}-{reward['max_points']}"
        )
        left = f", {reward['stock_left']} left" if reward["stock_left"] is not None else ""
        click.echo(
            f"  {reward['name']:20} {price:32} {reward['summary']}{left}"
            + ("" if reward["available"] else f"  (not for Ann: {reward['unavailable_reason']})")
        )
    click.echo("  Welcome 10% off is paused: it is the referred friend's welcome reward, not for sale.")
    for external_id, redemption in result["redeemed"]:
        worth = f", worth {redemption['value']} USD" if redemption["value"] else ""
        click.echo(
            f"  {external_id:9} redeemed {redemption['reward']!r} for {redemption['points']} points{worth}: "
            f"code {redemption['code']}"
        )
    eve = result["api_member"]
    click.echo(
        f"\nThe REST API enrolled cust-eve, sent her review and an adjustment: "
        f"{eve['balances']['available']} points available (GET /api/v1/members/cust-eve)."
    )
    click.echo(f"API key for program {program.slug} (shown once; a new one each run):\n  {result['api_key']}")
    url = url.rstrip("/")
    click.echo(
        f'  curl -H "Authorization: Bearer <key>" {url}/api/v1/members/cust-ann\n'
        f"  API reference: {url}/api/v1/docs (OpenAPI: /api/v1/openapi.json)"
    )
    click.echo(
        f"\nAdmin: {url}/admin/login  e-mail {ADMIN_EMAIL}  password {result['admin_password']}"
        "\n  (owner; a new password each run; more accounts: loyalty create-admin)"
    )
    click.echo(
        f"\nStorefront with the rewards widget (make demo serves it; else: loyalty demo-store --bind "
        f"{store.split('://')[1]} --platform {url} --program {SLUG}):\n"
        f"  {store}/                   signed in as Ann Archer (cust-ann)\n"
        f"  {store}/?customer=cust-ben another member, Ben Baker\n"
        f"  {store}/guest              a guest: the program and the sign-in links\n"
        f"  {store}/hostile            a page whose own CSS is hostile\n"
        f"  The widget's settings: loyalty widget show --program {SLUG}"
    )
    if outbound is not None:
        _print_outbound(outbound, receiver_url)
    click.echo(
        "\nOr explore with the CLI (in .venv/bin; or run: source .venv/bin/activate):\n"
        f"  loyalty members show --program {SLUG} cust-ann\n"
        f"  loyalty rules list --program {SLUG}\n"
        f"  loyalty tiers list --program {SLUG}\n"
        f"  loyalty tiers history --program {SLUG} cust-ben\n"
        f"  loyalty referrals terms --program {SLUG}\n"
        f"  loyalty referrals checks --program {SLUG}\n"
        f"  loyalty rewards list --program {SLUG}\n"
        f"  loyalty rewards redemptions --program {SLUG} --member cust-ann\n"
        "  loyalty jobs list\n"
        f"  loyalty api-keys list --program {SLUG}\n"
        f"  loyalty inbox list --program {SLUG}\n"
        f"  loyalty outbound list --program {SLUG}\n"
        f"  loyalty outbound deliveries --program {SLUG}\n"
        f"  loyalty storefronts list --program {SLUG}\n"
        f"  loyalty orders simulate --program {SLUG} --file docs/examples/order.json --member cust-ann\n"
        f"  loyalty events push --program {SLUG} --file docs/examples/order.json\n"
        "  loyalty plugins\n"
        "  loyalty verify\n"
        f"Health check: {url}/healthz"
    )


def _print_outbound(outbound: dict, receiver_url: str) -> None:
    endpoint, sent = outbound["endpoint"], outbound["sent"]
    click.echo(
        f"\nOutbound webhooks: endpoint {endpoint.id} ({endpoint.config['url']}, every event, signed per Standard "
        f"Webhooks) got {sent['delivered']} {'delivery' if sent['delivered'] == 1 else 'deliveries'} now "
        "(a test event among them); a worker sends it what happens next."
    )
    if outbound["waiting"]:
        click.echo(
            f"  {outbound['waiting']} deliveries wait for the receiver: loyalty demo-receiver --bind "
            f"{receiver_url.split('://')[-1].rstrip('/')} --program {SLUG}, then loyalty outbound send"
        )
    received = outbound["received"]
    if received is None:
        click.echo(f"  The receiver at {receiver_url} did not answer.")
    elif received:
        click.echo("  The receiver verified and got, lately:")
        for event in received[-5:]:
            click.echo(f"    {line(event)}")


def register(main) -> None:
    main.add_command(demo)
