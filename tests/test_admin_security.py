"""The admin against an attacker: sessions that end, a sign-in limit all workers share, security headers,
and hostile ids, cursors and text that answer 4xx and change nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.models import AdminUser, AuditEntry
from tests.helpers import snapshot
from tests.helpers.admin import PASSWORD, Browser, browser, shop, signed_in, users  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
HUGE = "9" * 40  # beyond 64 bits


def saved_session(person: Browser) -> str:
    return person.client.get_cookie("session", domain="localhost").value


def replay(app, cookie: str, name: str = "session") -> Browser:
    """Another browser holding a copy of a saved cookie (as a thief would)."""
    thief = Browser(app)
    thief.client.set_cookie(name, cookie, domain="localhost")
    return thief


def signed_out(answer) -> bool:
    return answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


class TestSessionsEnd:
    def test_a_saved_session_cookie_no_longer_opens_the_admin_after_sign_out(self, app, users):
        owner = signed_in(app, "owner@example.com")
        cookie = saved_session(owner)
        assert replay(app, cookie).get("/admin/").status_code == 200  # a copy works while signed in
        owner.post("/admin/logout", {"csrf_token": owner.token("/admin/")})
        assert signed_out(owner.get("/admin/"))
        assert signed_out(replay(app, cookie).get("/admin/"))

    def test_a_remember_me_cookie_made_before_sign_out_no_longer_signs_in(self, app, session, users):
        from flask_login.utils import encode_cookie

        owner = signed_in(app, "owner@example.com")
        with app.test_request_context():
            remember = encode_cookie(session.get(AdminUser, users["owner"].id).get_id())
        session.rollback()
        assert replay(app, remember, "remember_token").get("/admin/").status_code == 200
        owner.post("/admin/logout", {"csrf_token": owner.token("/admin/")})
        assert signed_out(replay(app, remember, "remember_token").get("/admin/"))

    def test_a_password_change_ends_the_accounts_sessions(self, app, session, runner, users):
        owner, manager = signed_in(app, "owner@example.com"), signed_in(app, "manager@example.com")
        cookie = saved_session(owner)
        answer = runner.invoke(
            args=["admins", "set-password", "--email", "OWNER@example.com", "--password", "a brand new password"]
        )
        assert answer.exit_code == 0, answer.output
        assert "owner@example.com" in answer.output and "signed out" in answer.output
        assert signed_out(owner.get("/admin/")) and signed_out(replay(app, cookie).get("/admin/"))
        assert manager.get("/admin/").status_code == 200  # another account's sessions go on
        assert Browser(app).sign_in("owner@example.com").status_code == 200  # the old password is refused
        assert Browser(app).sign_in("owner@example.com", "a brand new password").status_code == 302
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "admin.set_password"))
        assert entry.actor.startswith("cli:") and entry.target == "admin:owner@example.com"

    def test_set_password_refuses_an_unknown_account_or_a_short_password(self, runner, session, users):
        before = session.scalar(select(AdminUser.password_hash).where(AdminUser.email == "owner@example.com"))
        for args, message in (
            (["--email", "nobody@example.com", "--password", "long enough pw"], "no admin account"),
            (["--email", "owner@example.com", "--password", "short"], "at least 10"),
        ):
            answer = runner.invoke(args=["admins", "set-password", *args])
            assert answer.exit_code != 0 and message in answer.output
        session.expire_all()
        assert session.scalar(select(AdminUser.password_hash).where(AdminUser.email == "owner@example.com")) == before


class TestSignInLimitAcrossWorkers:
    def test_two_workers_sharing_the_database_share_the_limit(self, app, session, users):
        """Two processes, as gunicorn's workers are, each trying 8 wrong passwords at the same time: 10 get through."""
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.helpers.login_attempts", url, "8"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        statuses = [status for worker in workers for status in json.loads(worker.communicate(timeout=120)[0])]
        assert sorted(statuses) == [200] * 10 + [429] * 6

    def test_the_counts_live_in_the_database_and_a_window_starts_afresh(self, app, monkeypatch):
        from loyalty.access import rate_limits
        from loyalty.admin.blueprint import limiter

        storage = limiter.storage
        assert isinstance(storage, rate_limits.DatabaseStorage)
        monkeypatch.setattr(rate_limits, "_now", lambda: 1000.0)
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get("k") == 3 and storage.get_expiry("k") == 1060.0 and storage.get("other") == 0
        monkeypatch.setattr(rate_limits, "_now", lambda: 1060.5)  # the window has passed
        assert storage.get("k") == 0 and storage.incr("k", 60) == 1 and storage.get_expiry("k") == 1120.5
        storage.clear("k")
        assert storage.get("k") == 0 and storage.check()


class TestHeaders:
    def test_the_admin_and_the_api_docs_carry_security_headers(self, app, users):
        client = app.test_client()
        for path in ("/admin/login", "/api/v1/docs", "/api/v1/openapi.json"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            csp = answer.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Referrer-Policy"] == "same-origin"  # CSRF checks the Referer on https

    def test_machines_get_nosniff(self, app, program):
        answer = app.test_client().post("/webhooks/acme/shopify", data=b"{}")
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert app.test_client().get("/healthz").headers["X-Content-Type-Options"] == "nosniff"

    def test_the_api_docs_load_nothing_from_another_host(self, app):
        client = app.test_client()
        page = client.get("/api/v1/docs").get_data(as_text=True)
        assert "//" not in page.replace("<!DOCTYPE", "")  # no absolute URL: scripts and styles from this site
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "docs.js"):
            assert f"/api/v1/docs/static/{asset}" in page
            answer = client.get(f"/api/v1/docs/static/{asset}")
            assert answer.status_code == 200 and len(answer.get_data()) > 100, asset
        assert client.get("/api/v1/docs/static/../../openapi.json").status_code == 404


HOSTILE = st.one_of(
    st.integers(min_value=1, max_value=4).map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(max_size=30),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "a\r\nb",
            "\r\nSet-Cookie: x=1",
            HUGE,
            "-" + HUGE,
            "0",
            "1e400",
            "NaN",
            "9223372036854775808",
            "ünïcødé",
            "..",
            "/",
            "%00",
            "🙂",
            "<script>",
            "' OR 1=1 --",
        ]
    ),
)
#: What a person would type (so that a form gets past its first check and a hostile value in another field
#: counts), and a number beyond 64 bits among them.
PLAUSIBLE = st.sampled_from(
    [
        "Gold",
        "5",
        "1.5",
        "500",
        "2026-12-31",
        "points_earned",
        "rolling",
        "365",
        "down",
        "fixed_amount_code",
        "read",
        "days",
        "no_clawback",
        HUGE,
    ]
)
QUERY_KEYS = (
    "q",
    "before",
    "status",
    "storefront",
    "type",
    "days",
    "from",
    "to",
    "format",
    "table",
    "scheme",
    "next",
    "reward",
    "page",
)


def admin_paths(app, methods: str) -> list[str]:
    """Every admin URL rule answering ``methods``, as the rule is written (``/admin/<program_slug>/tiers/<id:…>``)."""
    skip = {"admin.static", "admin.logout", "admin.login"} if methods == "POST" else {"admin.static"}
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and methods in rule.methods and rule.endpoint not in skip
    )


def fill(rule: str, draw) -> str:
    """The rule with each ``<…>`` replaced by a hostile value (the program one of the two that exist, mostly)."""

    def value(match):
        name = match.group(1).rsplit(":", 1)[-1]
        if name == "program_slug":
            return draw(st.sampled_from(["acme", "acme", "other", "\x00", HUGE]).map(lambda s: quote(s, safe="")))
        return quote(draw(HOSTILE), safe="")

    return re.sub(r"<([^>]+)>", value, rule)


#: Each admin form (by endpoint): its fields, and its ``action`` choices.
FORMS = {
    "member": (("points", "reason", "key"), ()),
    "jobs": (("job",), ()),
    "tiers": (
        (
            "name",
            "rank",
            "threshold",
            "keep_threshold",
            "earn_multiplier",
            "perks",
            "scheme",
            "settings.window",
            "settings.window_days",
            "settings.downgrade",
            "settings.grace_days",
        ),
        ("tier", "scheme"),
    ),
    "tier_form": (("name", "threshold", "keep_threshold", "earn_multiplier", "perks"), ()),
    "rule_form": (
        (
            "name",
            "config.points_per_unit",
            "config.rounding",
            "config.skus",
            "config.multiplier",
            "config.min_order_amount",
            "order.subtotal",
            "order.discount",
            "order.tax",
            "order.shipping",
            "order.sku",
            "order.member",
        ),
        ("try", "save"),
    ),
    "rule_switch": ((), ()),
    "rewards": (("reward",), ("pause", "resume")),
    "reward_form": (
        (
            "name",
            "description",
            "points",
            "step_value",
            "min_points",
            "max_points",
            "stock",
            "limit_per_member",
            "min_tier",
            "config.amount",
            "config.prefix",
            "config.expires_days",
            "config.use_pool",
        ),
        (),
    ),
    "reward_edit": (
        ("codes", "stock", "limit_per_member", "starts", "ends", "min_tier", "description"),
        ("codes", "availability"),
    ),
    "referrals": (("referral", "reason"), ("approve", "reject")),
    "settings": (("name", "return_window_days", "clawback_policy", "expiry_policy", "expiry_after"), ()),
    "connections": (
        ("type", "secret", "api_key", "name", "scopes", "prefix"),
        ("storefront", "create_key", "revoke_key"),
    ),
    "delivery": ((), ()),
    "widget": (
        (
            "appearance.accent",
            "appearance.accent_text",
            "appearance.position",
            "appearance.label",
            "texts.panel_title",
            "texts.points",
            "sign_in_url",
            "sign_up_url",
            "joins",
        ),
        (),
    ),
    "widget_access": (("origins",), ()),
    "widget_rotate": (("replaces",), ()),
    "outbound_add": (("url", "name", "events"), ()),
    "outbound_state": ((), ()),
    "outbound_confirm": (("replaces",), ()),
    "outbound_test": (("event_type",), ()),
    "outbound_replay": ((), ()),
    "email": (("from_address", "from_name", "reply_to"), ()),
    "email_disable": ((), ()),
    "email_template": (("subject", "text", "html"), ()),
    "email_template_reset": ((), ()),
    "email_preview": (("subject", "text", "html", "member"), ()),
}


def GOOD_FORMS(catalog) -> dict:  # noqa: N802 (a table, built from the catalog's ids)
    """Each admin form as a person fills it in: ``(path, action) -> fields``."""
    tier, rule, reward = catalog["tier_id"][0], catalog["rule_id"][0], catalog["reward_id"][0]
    destination = catalog["destination_id"][0]
    tier_fields = {
        "name": "Silver",
        "threshold": "100",
        "keep_threshold": "80",
        "earn_multiplier": "1.25",
        "perks": "Free shipping",
    }
    return {
        ("/admin/acme/members/c-ann", None): {"points": "5", "reason": "Apology", "key": "k-hostile"},
        ("/admin/acme/tiers", "tier"): {**tier_fields, "rank": "4"},
        ("/admin/acme/tiers", "scheme"): {
            "scheme": "points_earned",
            "settings.window": "rolling",
            "settings.window_days": "365",
            "settings.downgrade": "after_grace",
            "settings.grace_days": "30",
        },
        (f"/admin/acme/tiers/{tier}", None): tier_fields,
        ("/admin/acme/rules/new?type=points_per_currency", "try"): {
            "name": "Rate",
            "config.points_per_unit": "2",
            "config.rounding": "down",
            "order.subtotal": "30.00",
            "order.tax": "3.00",
            "order.discount": "1.00",
            "order.shipping": "2.00",
            "order.member": "c-ann",
        },
        (f"/admin/acme/rules/{rule}", "save"): {
            "name": "Rate",
            "config.points_per_unit": "2",
            "config.min_order_amount": "10.00",
        },
        ("/admin/acme/rewards/new?type=fixed_amount_code", None): {
            "name": "10 off",
            "description": "Ten",
            "points": "1000",
            "stock": "5",
            "limit_per_member": "2",
            "config.amount": "10.00",
            "config.prefix": "LOYAL",
            "config.expires_days": "90",
        },
        ("/admin/acme/rewards/new?type=store_credit", None): {
            "name": "Credit",
            "points": "100",
            "step_value": "1.00",
            "min_points": "500",
            "max_points": "5000",
        },
        (f"/admin/acme/rewards/{reward}", "availability"): {
            "stock": "10",
            "limit_per_member": "3",
            "starts": "2026-01-01",
            "ends": "2026-12-31",
            "min_tier": "Gold",
            "description": "Five off",
        },
        (f"/admin/acme/rewards/{reward}", "codes"): {"codes": "CODE-1\nCODE-2"},
        ("/admin/acme/rewards", "pause"): {"reward": reward},
        ("/admin/acme/referrals", "reject"): {"referral": "1", "reason": "coupon site"},
        ("/admin/acme/settings", None): {
            "name": "Acme",
            "return_window_days": "14",
            "clawback_policy": "allow_negative",
            "expiry_policy": "days",
            "expiry_after": "365",
        },
        ("/admin/acme/connections", "create_key"): {"name": "storefront", "scopes": "read"},
        ("/admin/acme/connections", "storefront"): {"type": "shopify", "secret": "a-long-enough-secret"},
        ("/admin/acme/connections", "revoke_key"): {"prefix": "lk_12345678"},
        ("/admin/acme/jobs", None): {"job": "tiers:acme"},
        ("/admin/acme/widget/enable", None): {"origins": "https://shop.example"},  # before its looks: it makes them
        ("/admin/acme/widget", None): {
            "appearance.accent": "#0a7d5a",
            "appearance.accent_text": "#ffffff",
            "appearance.position": "bottom-left",
            "appearance.label": "Punkte",
            "texts.panel_title": "Prämien von {program}",
            "texts.points": "{points} Punkte",
            "sign_in_url": "https://shop.example/login",
            "sign_up_url": "",
            "joins": "order",
        },
        ("/admin/acme/widget/origins", None): {"origins": "https://shop.example\nhttps://eu.shop.example"},
        ("/admin/acme/widget/rotate", None): {"replaces": "lw_…abcd"},
        # A public address written as one: no DNS lookup in the tests.
        ("/admin/acme/outbound/add", None): {"url": "https://93.184.215.14/loyalty", "name": "CRM", "events": "all"},
        (f"/admin/acme/outbound/{destination}/test", None): {"event_type": "points.earned"},
        (f"/admin/acme/outbound/{destination}/rotate", None): {"replaces": "whsec_…abcd"},
        ("/admin/acme/email", None): {"from_address": "rewards@acme.example", "from_name": "Acme", "reply_to": ""},
        ("/admin/acme/email/points.earned", None): {
            "subject": "{{ points | points }} for {{ member.name }}",
            "text": "Hello {{ member.name }}",
            "html": "<p>{{ points }}</p>",
        },
        ("/admin/acme/email/tier.changed/preview", None): {
            "subject": "{{ event.to.name }}",
            "text": "",
            "html": "",
            "member": "c-ann",
        },
    }


@pytest.fixture
def catalog(session, shop, clock, registry):
    """A tier, a rule and a reward, so that forms reach real rows too: the path values to draw from."""
    from loyalty.earning.rules import add_rule
    from loyalty.messages import destinations
    from loyalty.rewards import add_reward
    from loyalty.tiers.levels import add_tier

    tier = add_tier(session, shop, name="Gold", rank=3, threshold="500", clock=clock)
    rule = add_rule(
        session, shop, registry, type="points_per_currency", name="Base", config={"points_per_unit": "1"}, clock=clock
    )
    reward = add_reward(
        session,
        shop,
        registry,
        type="fixed_amount_code",
        name="5 off",
        points=500,
        config={"amount": "5.00"},
        clock=clock,
    )
    endpoint = destinations.add(
        session,
        shop,
        channel="webhook",
        config={"url": "https://93.184.215.14/hooks"},
        events="all",
        clock=clock,
        registry=registry,
        settings={},
    )
    delivery = destinations.send_test(session, endpoint, "points.earned", clock=clock)
    session.commit()
    return {
        "external_id": ["c-ann"],
        "tier_id": [str(tier.id)],
        "rule_id": [str(rule.id)],
        "reward_id": [str(reward.id)],
        "destination_id": [str(endpoint.id)],
        "delivery_id": [str(delivery.id)],
        "action": ["pause", "resume", "enable", "origins", "disable", "rotate", "remove"],
        "kind": ["points.earned", "tier.changed"],
    }


class TestHostileInput:
    @pytest.mark.parametrize(
        "path",
        [
            f"/admin/acme/members?before={HUGE}",
            f"/admin/acme/inbox?before={HUGE}",
            f"/admin/acme/inbox/{HUGE}",
            f"/admin/acme/rules/{HUGE}",
            f"/admin/acme/tiers/{HUGE}",
            f"/admin/acme/rewards/{HUGE}",
            f"/admin/acme/audit?before={HUGE}",
            "/admin/acme/members?q=%00",
            "/admin/%00/",
            "/admin/acme/members/c%00",
            "/admin/acme/audit?before=-5",
            "/admin/acme/members?before=x",
            "/admin/acme/members?before=" + "9" * 5000,
            "/admin/acme/rules/" + "9" * 5000,
            "/admin/login?next=/admin/%0d%0aSet-Cookie:x=1",
        ],
    )
    def test_a_huge_id_or_a_control_character_is_a_clear_4xx(self, app, users, path):
        owner = signed_in(app, "owner@example.com")
        answer = owner.get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        if answer.status_code == 400:
            assert "not a valid id" in answer.get_data(as_text=True) or "control character" in answer.get_data(
                as_text=True
            )

    def test_sign_in_with_a_newline_in_next_is_refused_and_signs_no_one_in(self, app, browser, users):
        token = browser.token("/admin/login")
        answer = browser.post(
            "/admin/login?next=/admin/%0d%0aSet-Cookie:%20x=1",
            {"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
        )
        assert answer.status_code == 400 and "Set-Cookie" not in answer.headers
        assert signed_out(browser.get("/admin/"))

    @pytest.mark.parametrize(
        "form",
        [
            {"points": "50", "reason": "nul \x00 inside", "key": "k1"},
            {"points": HUGE, "reason": "huge", "key": "k2"},
            {"points": "-" + HUGE, "reason": "huge", "key": "k3"},
            {"points": "50", "reason": "ok", "key": "k\x00"},
        ],
    )
    def test_a_hostile_adjustment_changes_nothing(self, app, session, users, form):
        manager = signed_in(app, "manager@example.com")
        before = snapshot(session)
        answer = manager.post("/admin/acme/members/c-ann", form)
        assert answer.status_code < 500
        assert snapshot(session) == before and session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    @pytest.mark.parametrize(
        "path, form",
        [
            ("/admin/acme/tiers", {"action": "tier", "name": "Gold", "rank": HUGE, "threshold": "500"}),
            ("/admin/acme/tiers", {"action": "tier", "name": "Gold", "rank": "3", "threshold": HUGE}),
            (
                "/admin/acme/tiers",
                {"action": "tier", "name": "Gold", "rank": "3", "threshold": "1", "earn_multiplier": HUGE},
            ),
            ("/admin/acme/tiers", {"action": "scheme", "scheme": "points_earned", "settings.window_days": HUGE}),
            ("/admin/acme/rewards/new?type=fixed_amount_code", {"name": "5 off", "points": HUGE, "config.amount": "5"}),
            (
                "/admin/acme/rewards/new?type=fixed_amount_code",
                {"name": "5 off", "points": "5", "stock": HUGE, "config.amount": "5"},
            ),
            ("/admin/acme/rewards", {"reward": HUGE, "action": "pause"}),
            ("/admin/acme/referrals", {"referral": HUGE, "action": "approve"}),
            ("/admin/acme/settings", {"name": "Acme", "return_window_days": HUGE}),
            (
                "/admin/acme/settings",
                {"name": "Acme", "return_window_days": "0", "expiry_policy": "days", "expiry_after": HUGE},
            ),
            (
                "/admin/acme/rules/new?type=points_per_currency",
                {"name": "x", "config.points_per_unit": "1", "order.subtotal": HUGE, "action": "try"},
            ),
        ],
    )
    def test_a_huge_number_in_a_form_changes_nothing(self, app, session, users, path, form):
        from tests.helpers import snapshot as ledger_snapshot

        owner = signed_in(app, "owner@example.com")
        before = ledger_snapshot(session), session.scalar(select(func.count()).select_from(AuditEntry))
        answer = owner.post(path, form)
        assert answer.status_code < 500, answer.get_data(as_text=True)[-500:]
        assert (ledger_snapshot(session), session.scalar(select(func.count()).select_from(AuditEntry))) == before

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_no_get_of_the_admin_answers_500(self, app, users, data):
        owner = self._owner(app)
        path = fill(data.draw(st.sampled_from(admin_paths(app, "GET"))), data.draw)
        query = data.draw(st.dictionaries(st.sampled_from(QUERY_KEYS), HOSTILE, max_size=3))
        answer = owner.get(f"{path}?{urlencode(query)}")
        assert answer.status_code < 500, (path, query)

    def test_every_field_of_every_form_with_a_hostile_value(self, app, session, users, catalog):
        """Each form filled in as a person would, one field at a time replaced by each hostile value: no 500,
        and a refusal changes nothing."""
        from tests.helpers import snapshot as ledger_snapshot

        owner = self._owner(app)
        tried, failures = 0, []
        for (path, action), good in GOOD_FORMS(catalog).items():
            for field in good:
                for hostile in (
                    "9" * 40,
                    "-" + "9" * 40,
                    "2147483648",
                    "9223372036854775808",
                    "1e400",
                    "NaN",
                    "-1",
                    "x" * 5000,
                    "ünïcødé 🙂",
                    "<script>",
                    "a\r\nb",
                    "¹",  # str.isdigit says yes, int() says no: was a 500 in the reward, tier and rule forms
                    "٣",
                ):
                    # Names and ranks differ each time: a form that went through must not refuse the next early.
                    unique = {
                        key: f"{good[key]} {tried}" if key == "name" else str(10 + tried)
                        for key in ("name", "rank")
                        if key in good
                    }
                    form = {**good, **unique, field: hostile, **({"action": action} if action else {})}
                    before = ledger_snapshot(session), session.scalar(select(func.count()).select_from(AuditEntry))
                    try:
                        answer = owner.post(path, {**form, "csrf_token": owner.csrf})
                    except Exception as exc:  # the test client raises what would be a 500
                        failures.append((path, action, field, hostile[:20], repr(exc)[:150]))
                        session.rollback()
                        continue
                    page = answer.get_data(as_text=True)
                    if answer.status_code >= 500:
                        failures.append((path, action, field, hostile[:20], answer.status_code))
                    if answer.status_code >= 400 or "Not saved" in page or "Not adjusted" in page:
                        after = ledger_snapshot(session), session.scalar(select(func.count()).select_from(AuditEntry))
                        if after != before:
                            failures.append((path, action, field, hostile[:20], "changed"))
                    session.rollback()
                    tried += 1
        assert not failures, "\n".join(map(str, failures))
        assert tried > 500

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_no_form_posted_to_the_admin_answers_500(self, app, users, catalog, data):
        """Each form with its own fields (and a stray one), hostile values, sent to a page of ids that exist or not."""
        owner = self._owner(app)
        endpoint = data.draw(st.sampled_from(sorted(FORMS)))
        fields, actions = FORMS[endpoint]
        (rule,) = [
            r.rule for r in app.url_map.iter_rules() if r.endpoint == f"admin.{endpoint}" and "POST" in r.methods
        ][:1]

        def value(match):  # the program is acme (hostile ones are the GET property's); an id that exists, or not
            name = match.group(1).rsplit(":", 1)[-1]
            hostile = HOSTILE.map(lambda v: quote(v, safe=""))
            return "acme" if name == "program_slug" else data.draw(st.sampled_from(catalog.get(name, ["1"])) | hostile)

        path = re.sub(r"<([^>]+)>", value, rule)
        form = data.draw(
            st.dictionaries(st.sampled_from([*fields, "reason", "points"]), PLAUSIBLE | HOSTILE, max_size=len(fields))
        )
        if actions:
            form["action"] = data.draw(st.sampled_from(actions))
        query = data.draw(
            st.sampled_from(
                {
                    "rule_form": ["?type=points_per_currency", "?type=product_multiplier"],
                    "reward_form": ["?type=fixed_amount_code", "?type=store_credit"],
                }.get(endpoint, [""])
            )
        )
        answer = owner.post(path + query, {**form, "csrf_token": owner.csrf})
        assert answer.status_code < 500, (path, form)

    def test_every_admin_form_is_in_the_property(self, app):
        posted = {
            rule.endpoint.removeprefix("admin.")
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and "POST" in rule.methods
        }
        assert posted - {"login", "logout", "_nowhere"} == set(FORMS)  # _nowhere: the 404 page of any other address

    def _owner(self, app):
        """One signed-in owner for all of a property's examples (signing in costs a password hash)."""
        if getattr(app, "_test_owner", None) is None:
            app._test_owner = signed_in(app, "owner@example.com")
            app._test_owner.csrf = app._test_owner.token("/admin/acme/settings")
        return app._test_owner
