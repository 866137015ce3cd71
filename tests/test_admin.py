"""The admin's server side with Flask's test client: sign-in, roles, programs, CSRF, escaping, the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from loyalty.earning.events import Customer
from loyalty.models import AuditEntry, Referral
from tests.helpers import available, snapshot
from tests.helpers.admin import PASSWORD, Browser, browser, shop, signed_in, users  # noqa: F401 (fixtures)


class TestSignIn:
    def test_pages_need_a_signed_in_person(self, browser, users):
        for path in ("/admin/", "/admin/acme/", "/admin/acme/members", "/admin/acme/members/c-ann"):
            answer = browser.get(path)
            assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]

    def test_sign_in_and_out(self, browser, users):
        assert "E-mail or the password is wrong" not in browser.get("/admin/login").get_data(as_text=True)
        wrong = browser.sign_in("owner@example.com", "not the password")
        assert wrong.status_code == 200 and "The e-mail or the password is wrong." in wrong.get_data(as_text=True)
        assert browser.sign_in("nobody@example.com").status_code == 200
        answer = browser.sign_in("OWNER@example.com")
        assert answer.status_code == 302
        cookie = answer.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert browser.get("/admin/").status_code == 200  # two programs: the list
        assert (
            browser.post("/admin/logout", csrf=True, data={"csrf_token": browser.token("/admin/")}).status_code == 302
        )
        assert browser.get("/admin/").status_code == 302

    def test_no_open_redirect_after_sign_in(self, browser, users):
        answer = browser.post(
            "/admin/login?next=//evil.example/x",
            {"email": "owner@example.com", "password": PASSWORD, "csrf_token": browser.token("/admin/login")},
        )
        assert answer.headers["Location"] == "/admin/"

    def test_sign_in_is_rate_limited(self, app, browser, users):
        app.config["ADMIN_LOGIN_LIMIT"] = "3 per minute"
        for _ in range(3):
            assert browser.sign_in("owner@example.com", "guess").status_code == 200
        assert browser.sign_in("owner@example.com").status_code == 429  # even the right password, for a while

    def test_a_deactivated_account_cannot_sign_in(self, session, browser, users):
        users["manager"].active = False
        session.commit()
        assert browser.sign_in("manager@example.com").status_code == 200


class TestRoles:
    def test_programs_an_account_may_see(self, app, users):
        limited = signed_in(app, "limited@example.com")
        assert limited.get("/admin/").headers["Location"] == "/admin/other/"  # only one: straight to it
        assert limited.get("/admin/acme/").status_code == 404
        assert limited.get("/admin/acme/members/c-ann").status_code == 404
        assert signed_in(app, "viewer@example.com").get("/admin/acme/").status_code == 200

    def test_a_viewer_reads_but_changes_nothing(self, app, session, shop, users):
        viewer = signed_in(app, "viewer@example.com")
        page = viewer.get("/admin/acme/members/c-ann").get_data(as_text=True)
        assert "Ann Archer" in page and 'id="adjust"' not in page
        token = viewer.token("/admin/acme/members/c-ann")
        before = snapshot(session)
        answer = viewer.post(
            "/admin/acme/members/c-ann", {"csrf_token": token, "points": 50, "reason": "x", "key": "k1"}
        )
        assert answer.status_code == 403 and snapshot(session) == before

    def test_a_manager_adjusts_with_a_reason_and_it_is_audited(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        page = manager.get("/admin/acme/members/c-ann").get_data(as_text=True)
        key = re.search(r'id="key" name="key" type="hidden" value="([0-9a-f]+)"', page).group(1)
        form = {"points": "-40", "reason": "Duplicate order", "key": key}
        answer = manager.post("/admin/acme/members/c-ann", form)
        assert answer.status_code == 302
        assert "Adjusted by -40 points" in manager.get("/admin/acme/members/c-ann").get_data(as_text=True)
        manager.post("/admin/acme/members/c-ann", form)  # the same form sent twice posts once
        session.expire_all()
        assert available(session, shop, "c-ann") == 260
        (entry,) = session.scalars(select(AuditEntry)).all()
        assert (entry.actor, entry.action, entry.target, entry.note) == (
            "manager@example.com",
            "member.adjust",
            "member:c-ann",
            "Duplicate order",
        )
        assert entry.before == {"available": 300} and entry.after["available"] == 260
        log = signed_in(app, "viewer@example.com").get("/admin/acme/audit").get_data(as_text=True)
        assert "manager@example.com" in log and "Points adjusted" in log and "Duplicate order" in log
        assert "<del>300</del> → <ins>260</ins>" in log

    @pytest.mark.parametrize(
        "form, message",
        [
            ({"points": "0", "reason": "x"}, "not zero"),
            ({"points": "10", "reason": ""}, "a reason is required"),
            ({"points": "ten", "reason": "x"}, "give a whole number of points"),
            ({"points": "1e999999", "reason": "x"}, "give a whole number of points"),
            ({"points": "-400", "reason": "too much"}, "Not adjusted"),
            ({"points": "5", "reason": "x", "key": "k" * 10_000}, "the form was not the one this page gave"),
        ],
    )
    def test_a_bad_adjustment_changes_nothing(self, app, session, shop, users, form, message):
        manager = signed_in(app, "manager@example.com")
        before = snapshot(session)
        page = manager.post("/admin/acme/members/c-ann", {"key": "k-bad", **form}, follow_redirects=True)
        assert message in page.get_data(as_text=True)
        assert snapshot(session) == before
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


class TestSafety:
    def test_every_form_needs_its_csrf_token(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        before = snapshot(session)
        for token in (None, "forged"):
            data = {"points": "50", "reason": "x", "key": "k"} | ({"csrf_token": token} if token else {})
            answer = manager.post("/admin/acme/members/c-ann", data, csrf=False)
            assert answer.status_code == 400
        assert snapshot(session) == before
        fresh = Browser(app)
        assert (
            fresh.post("/admin/login", {"email": "owner@example.com", "password": PASSWORD}, csrf=False).status_code
            == 400
        )

    def test_what_stores_send_is_shown_as_text(self, app, shop, users):
        owner = signed_in(app, "owner@example.com")
        for path in ("/admin/acme/members", "/admin/acme/members/c-evil"):
            page = owner.get(path).get_data(as_text=True)
            assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        search = owner.get("/admin/acme/members?q=<b>bold</b>").get_data(as_text=True)
        assert "<b>bold</b>" not in search and "&lt;b&gt;bold&lt;/b&gt;" in search

    def test_the_api_and_webhooks_need_no_csrf_token(self, app, session, shop, users):
        from loyalty.access.api_keys import create_key

        key = create_key(session, shop, name="t", clock=app.config["CLOCK"]).secret
        session.commit()
        answer = app.test_client().post(
            "/api/v1/members", json={"external_id": "c-api"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 201


class TestPages:
    def test_find_a_member_by_external_id_email_or_code(self, app, session, shop, users):
        owner = signed_in(app, "owner@example.com")
        from loyalty.programs.members import get_member

        code = get_member(session, shop, "c-ann").referral_code
        for q in ("c-ann", "ann@example.com", "ANN@EXAMPLE.COM", code.lower()):
            answer = owner.get(f"/admin/acme/members?q={q}")
            assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/acme/members/c-ann")
        assert "No member with" in owner.get("/admin/acme/members?q=nobody").get_data(as_text=True)
        listing = owner.get("/admin/acme/members").get_data(as_text=True)
        assert "c-ann" in listing and "c-evil" in listing
        assert owner.get("/admin/acme/members/ghost").status_code == 404

    def test_the_member_page_shows_everything_about_them(self, app, session, shop, users, push):
        from decimal import Decimal

        from loyalty.earning.events import OrderPaid

        push(
            OrderPaid(
                order_id="o-77",
                customer=Customer("c-ann"),
                currency="USD",
                subtotal=Decimal("20.00"),
                total=Decimal("20.00"),
            )
        )
        page = signed_in(app, "viewer@example.com").get("/admin/acme/members/c-ann").get_data(as_text=True)
        for text in (
            "Ann Archer",
            "300",
            "o-77",
            "20.00 USD",
            "Points by expiry",
            "Ledger",
            "Tier history",
            "Referrals",
            "Redemptions",
            "referral code",
        ):
            assert text in page

    def test_the_dashboard(self, app, session, shop, users, clock):
        page = signed_in(app, "owner@example.com").get("/admin/acme/?days=7").get_data(as_text=True)
        assert "2</b> members" in page and "300</b> points issued" in page and "300</b> points outstanding" in page
        assert "<svg" in page and "Points issued and redeemed per day" in page
        assert "no tier" in page and "the <code>rollups</code> job has not run" in page

    def test_the_dashboard_over_chosen_dates_and_a_bad_choice(self, app, session, shop, users, clock):
        from datetime import timedelta

        clock.advance(timedelta(days=40))
        owner = signed_in(app, "owner@example.com")
        january = owner.get("/admin/acme/?from=2026-01-01&to=2026-01-01").get_data(as_text=True)
        assert "300</b> points issued" in january and "2026-01-01 to 2026-01-01" in january
        december = owner.get("/admin/acme/?from=2025-12-01&to=2025-12-31").get_data(as_text=True)
        assert "0</b> points issued" in december and "0</b> points outstanding" in december  # nothing yet then
        assert "300</b> points outstanding" in owner.get("/admin/acme/?from=2026-01-01&to=2026-03-31").get_data(
            as_text=True
        )  # a last day after today ends today
        for query, message in (
            ("from=2026-01-05&to=2026-01-02", "The period&#39;s first day is after its last."),
            ("from=yesterday&to=2026-01-02", "Give both dates of the period as YYYY-MM-DD."),
            ("from=2026-01-01", "Give both dates of the period as YYYY-MM-DD."),
            ("from=2027-01-01&to=2027-01-02", "The period starts after today."),
            ("from=2000-01-01&to=2026-01-02", "Choose at most 3660 days."),
        ):
            page = owner.get(f"/admin/acme/?{query}")
            assert page.status_code == 200 and message in page.get_data(as_text=True), query
            assert "2026-01-11 to 2026-02-10" in page.get_data(as_text=True)  # the last 30 days instead

    def test_the_dashboard_reads_the_same_figures_from_the_daily_rollups(self, app, session, shop, users, clock):
        from datetime import timedelta

        from loyalty.jobs import run_job

        clock.advance(timedelta(days=3))
        owner = signed_in(app, "owner@example.com")
        live = owner.get("/admin/acme/?days=7").get_data(as_text=True)
        assert run_job(session, "rollups", clock=clock, registry=app.extensions["loyalty.registry"]).counts["days"] == 3
        session.commit()
        rolled = owner.get("/admin/acme/?days=7").get_data(as_text=True)
        assert "Days before 2026-01-04 are read from the daily roll-ups" in rolled
        figures = lambda page: page[page.index('<section class="figures">') :]  # noqa: E731
        assert figures(rolled) == figures(live) and "300</b> points issued" in rolled


class TestRules:
    def test_add_a_rule_through_its_generated_form_try_it_and_pause_it(self, app, session, shop, users):
        from loyalty.models import EarningRule

        manager = signed_in(app, "manager@example.com")
        page = manager.get("/admin/acme/rules/new?type=points_per_currency").get_data(as_text=True)
        for field in ("config.points_per_unit", "config.include_tax", "config.rounding", "config.min_order_amount"):
            assert f'name="{field}"' in page  # generated from the plugin's schema
        form = {
            "name": "Base rate",
            "config.points_per_unit": "2",
            "config.rounding": "down",
            "order.subtotal": "30.00",
            "order.tax": "3.00",
        }
        tried = manager.post("/admin/acme/rules/new?type=points_per_currency", {**form, "action": "try"})
        assert "This order would earn 60 points" in tried.get_data(as_text=True)
        assert session.scalar(select(func.count()).select_from(EarningRule)) == 0  # a try saves nothing
        saved = manager.post("/admin/acme/rules/new?type=points_per_currency", {**form, "action": "save"})
        assert saved.status_code == 302
        rule = session.scalar(select(EarningRule))
        assert rule.name == "Base rate" and rule.config["points_per_unit"] == "2" and rule.active
        listed = manager.get("/admin/acme/rules").get_data(as_text=True)
        assert "<th>What it does</th>" in listed and "<td>2 points for every USD 1 spent</td>" in listed
        # the settings in words, not the stored JSON
        assert "<dt>Rounding of fractional points</dt><dd>Round down</dd>" in listed
        assert "<dt>Include tax</dt><dd>no</dd>" in listed and "<dt>Points per unit</dt><dd>2</dd>" in listed
        assert "points_per_unit" not in listed and "&#34;" not in listed and "{&" not in listed
        manager.post(f"/admin/acme/rules/{rule.id}/pause", {"csrf_token": manager.token("/admin/acme/rules")})
        session.expire_all()
        assert session.get(EarningRule, rule.id).active is False
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["rule.add", "rule.pause"]

    def test_an_invalid_config_is_refused_with_the_schemas_message_and_saves_nothing(self, app, session, shop, users):
        from loyalty.models import EarningRule

        manager = signed_in(app, "manager@example.com")
        page = manager.post(
            "/admin/acme/rules/new?type=points_per_currency",
            {"name": "Bad", "config.points_per_unit": "-1", "action": "save"},
        ).get_data(as_text=True)
        assert "Not saved" in page and "points_per_unit" in page
        assert session.scalar(select(func.count()).select_from(EarningRule)) == 0
        assert manager.get("/admin/acme/rules/new?type=nope").status_code == 404
        viewer = signed_in(app, "viewer@example.com")
        assert (
            viewer.post(
                "/admin/acme/rules/new?type=points_per_currency",
                {
                    "name": "X",
                    "config.points_per_unit": "1",
                    "action": "save",
                    "csrf_token": viewer.token("/admin/acme/rules"),
                },
                csrf=False,
            ).status_code
            == 403
        )


class TestTiersAndOperations:
    def test_add_a_tier_and_choose_a_scheme(self, app, session, shop, users):
        from loyalty.models import Tier

        manager = signed_in(app, "manager@example.com")
        token = manager.token("/admin/acme/tiers")
        answer = manager.post(
            "/admin/acme/tiers",
            {
                "csrf_token": token,
                "action": "tier",
                "name": "Gold",
                "rank": "3",
                "threshold": "500",
                "keep_threshold": "400",
                "earn_multiplier": "1.5",
            },
        )
        assert answer.status_code == 302
        tier = session.scalar(select(Tier))
        assert (tier.name, tier.rank, tier.threshold, tier.keep_threshold) == ("Gold", 3, 500, 400)
        bad = manager.post("/admin/acme/tiers", {"action": "tier", "name": "Gold", "rank": "4"}).get_data(as_text=True)
        assert "Not saved" in bad and session.scalar(select(func.count()).select_from(Tier)) == 1
        page = manager.get("/admin/acme/tiers?scheme=points_earned").get_data(as_text=True)
        assert 'name="settings.window_days"' in page and 'name="settings.downgrade"' in page
        manager.post(
            "/admin/acme/tiers",
            {
                "action": "scheme",
                "scheme": "points_earned",
                "settings.window": "rolling",
                "settings.window_days": "365",
            },
        )
        session.expire_all()
        assert shop.tier_scheme == "points_earned" and shop.tier_settings["window_days"] == 365
        refused = manager.post(
            "/admin/acme/tiers", {"action": "scheme", "scheme": "points_earned", "settings.window_days": "-3"}
        ).get_data(as_text=True)
        assert "Not saved" in refused
        session.expire_all()
        assert shop.tier_settings["window_days"] == 365
        assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
            "tier.add",
            "tier.scheme",
        ]

    def test_the_inbox_shows_a_failed_delivery_and_replays_it(self, app, session, shop, users, registry, clock):
        import json

        from loyalty.storefronts.connections import add_storefront
        from tests.helpers.webhooks import SECRETS, standard_headers

        add_storefront(
            session, shop, registry, type="standard_webhooks", secret=SECRETS["standard_webhooks"], clock=clock
        )
        session.commit()
        body = json.dumps(
            {"type": "custom_event", "event_id": "e-1", "name": "review_written", "customer": {"external_id": "c-ann"}}
        ).encode()
        app.test_client().post(
            "/webhooks/acme/standard_webhooks", data=body, headers=standard_headers(body, int(clock.now().timestamp()))
        )
        from loyalty.models import WebhookDelivery

        delivery = session.scalar(select(WebhookDelivery))
        delivery.status, delivery.last_error = "failed", "unknown_rule_type: simulated"
        session.commit()
        owner = signed_in(app, "owner@example.com")
        listing = owner.get("/admin/acme/inbox?status=failed&storefront=standard_webhooks").get_data(as_text=True)
        assert f">{delivery.id}<" in listing and "simulated" in listing
        assert "review_written" in owner.get(f"/admin/acme/inbox/{delivery.id}").get_data(as_text=True)
        owner.post(f"/admin/acme/inbox/{delivery.id}", {})
        session.expire_all()
        assert session.get(WebhookDelivery, delivery.id).status == "processed"
        assert session.scalar(select(AuditEntry.action)) == "delivery.replay"
        viewer = signed_in(app, "viewer@example.com")
        assert viewer.post(f"/admin/acme/inbox/{delivery.id}", {}).status_code == 403

    def test_jobs_and_plugins(self, app, session, shop, users):
        owner = signed_in(app, "owner@example.com")
        owner.post("/admin/acme/jobs", {"job": "release"})
        page = owner.get("/admin/acme/jobs").get_data(as_text=True)
        assert "release" in page and "succeeded" in page and "admin" in page
        manager = signed_in(app, "manager@example.com")
        assert manager.post("/admin/acme/jobs", {"job": "expire"}).status_code == 403  # every program's: owners
        assert manager.post("/admin/acme/jobs", {"job": "tiers:acme"}).status_code == 302
        assert manager.post("/admin/acme/jobs", {"job": "nope"}).status_code == 400
        plugins = owner.get("/admin/acme/plugins").get_data(as_text=True)
        assert (
            "loyalty.plugins.rewards.stripe_promotion" in plugins and "reward types: stripe_promotion_code" in plugins
        )


class TestCatalogAndSettings:
    def test_add_a_reward_through_its_generated_form_and_pause_it(self, app, session, shop, users):
        from loyalty.models import Reward

        manager = signed_in(app, "manager@example.com")
        page = manager.get("/admin/acme/rewards/new?type=fixed_amount_code").get_data(as_text=True)
        assert 'name="config.amount"' in page and 'name="config.use_pool"' in page and 'name="step_value"' in page
        bad = manager.post("/admin/acme/rewards/new?type=fixed_amount_code", {"name": "5 off", "points": "500"})
        assert "needs an amount" in bad.get_data(as_text=True)
        assert session.scalar(select(func.count()).select_from(Reward)) == 0
        manager.post(
            "/admin/acme/rewards/new?type=fixed_amount_code",
            {"name": "5 off", "points": "500", "stock": "10", "config.amount": "5.00", "config.prefix": "LOYAL"},
        )
        reward = session.scalar(select(Reward))
        assert (reward.name, reward.points, reward.stock, reward.config["prefix"]) == ("5 off", 500, 10, "LOYAL")
        listing = manager.get("/admin/acme/rewards").get_data(as_text=True)
        assert "5.00 USD off" in listing and "10 of 10 left" in listing
        manager.post("/admin/acme/rewards", {"reward": reward.id, "action": "pause"})
        session.expire_all()
        assert session.get(Reward, reward.id).active is False
        assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
            "reward.add",
            "reward.pause",
        ]

    def test_review_flagged_referrals(self, app, session, shop, users, registry):
        from loyalty.programs.members import get_member
        from loyalty.referrals import attribute, set_terms

        set_terms(shop, registry, referrer_points=100, checks={"velocity": {"max_per_referrer": 1}})
        code = get_member(session, shop, "c-ann").referral_code
        for friend in ("f-1", "f-2", "f-3"):
            attribute(session, shop, code=code, friend_external_id=friend, registry=registry, clock=app.config["CLOCK"])
        session.commit()
        manager = signed_in(app, "manager@example.com")
        page = manager.get("/admin/acme/referrals").get_data(as_text=True)
        assert "f-2" in page and "f-3" in page and "f-1" not in page  # flagged ones by default
        ids = {r: session.scalar(select(Referral.id).where(Referral.friend_external_id == r)) for r in ("f-2", "f-3")}
        manager.post("/admin/acme/referrals", {"referral": ids["f-2"], "action": "approve"})
        manager.post("/admin/acme/referrals", {"referral": ids["f-3"], "action": "reject", "reason": "coupon site"})
        session.expire_all()
        assert session.get(Referral, ids["f-2"]).status == "pending"
        rejected = session.get(Referral, ids["f-3"])
        assert rejected.status == "rejected" and rejected.reason == "coupon site"
        again = manager.post(
            "/admin/acme/referrals", {"referral": ids["f-3"], "action": "approve"}, follow_redirects=True
        )
        assert "Not changed" in again.get_data(as_text=True)

    def test_settings_and_their_audit(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        form = {
            "name": "Acme Rewards",
            "return_window_days": "14",
            "clawback_policy": "cap_at_zero",
            "expiry_policy": "after_days",
            "expiry_after": "365",
        }
        assert manager.post("/admin/acme/settings", form).status_code == 302
        session.expire_all()
        assert (shop.name, shop.return_window_days, shop.clawback_policy, shop.expiry_policy, shop.expiry_after) == (
            "Acme Rewards",
            14,
            "cap_at_zero",
            "after_days",
            365,
        )
        refused = manager.post("/admin/acme/settings", {**form, "return_window_days": "900"}).get_data(as_text=True)
        assert "Not saved" in refused
        session.expire_all()
        assert shop.return_window_days == 14
        entry = session.scalar(select(AuditEntry))
        assert entry.before["return_window_days"] == 0 and entry.after["return_window_days"] == 14

    def test_stores_and_api_keys_are_the_owners_and_secrets_are_masked(self, app, session, shop, users):
        from loyalty.models import ApiKey

        owner = signed_in(app, "owner@example.com")
        owner.post(
            "/admin/acme/connections",
            {"action": "storefront", "type": "shopify", "secret": "shpss_supersecret_value_1234"},
        )
        page = owner.get("/admin/acme/connections").get_data(as_text=True)
        assert "supersecret" not in page and "shopify" in page
        created = owner.post("/admin/acme/connections", {"action": "create_key", "name": "Headless shop"})
        secret = re.search(r'<code id="new-key">(lk_[^<]+)</code>', created.get_data(as_text=True)).group(1)
        assert secret not in owner.get("/admin/acme/connections").get_data(as_text=True)  # shown once
        from loyalty.access.api_keys import authenticate as key_auth

        assert key_auth(session, secret, clock=app.config["CLOCK"]) is not None
        prefix = session.scalar(select(ApiKey.prefix))
        owner.post("/admin/acme/connections", {"action": "revoke_key", "prefix": prefix})
        session.expire_all()
        assert session.scalar(select(ApiKey.revoked_at)) is not None
        manager = signed_in(app, "manager@example.com")
        assert manager.post("/admin/acme/connections", {"action": "create_key", "name": "x"}).status_code == 403
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["storefront.connect", "api_key.create", "api_key.revoke"]
        assert "supersecret" not in str([e.after for e in session.scalars(select(AuditEntry))])


def test_edit_a_tier(app, session, shop, users):
    from loyalty.models import Tier
    from loyalty.tiers.levels import add_tier

    gold = add_tier(session, shop, name="Gold", rank=3, threshold="500", clock=app.config["CLOCK"])
    add_tier(session, shop, name="Silver", rank=2, threshold="200", clock=app.config["CLOCK"])
    session.commit()
    manager = signed_in(app, "manager@example.com")
    form = {
        "name": "Gold",
        "threshold": "600",
        "keep_threshold": "450",
        "earn_multiplier": "1.5",
        "perks": "Early access",
    }
    assert manager.post(f"/admin/acme/tiers/{gold.id}", form).status_code == 302
    session.expire_all()
    tier = session.get(Tier, gold.id)
    assert (tier.threshold, tier.keep_threshold, tier.earn_multiplier, tier.perks) == (600, 450, 1.5, "Early access")
    for bad in ({**form, "keep_threshold": "700"}, {**form, "name": "Silver"}, {**form, "earn_multiplier": "0"}):
        assert "Not saved" in manager.post(f"/admin/acme/tiers/{gold.id}", bad).get_data(as_text=True)
    session.expire_all()
    assert session.get(Tier, gold.id).threshold == 600
    entry = session.scalar(select(AuditEntry))
    assert entry.action == "tier.update" and entry.before["threshold"] == "500" and entry.after["threshold"] == "600"
    assert manager.get("/admin/acme/tiers/424242").status_code == 404


def test_a_rewards_availability_and_its_code_pool(app, session, shop, users, registry, clock):
    from loyalty.models import Reward
    from loyalty.rewards import add_reward
    from loyalty.tiers.levels import add_tier

    add_tier(session, shop, name="Gold", rank=3, clock=clock)
    reward = add_reward(
        session,
        shop,
        registry,
        type="free_shipping_code",
        name="Ship",
        points=100,
        config={"use_pool": True},
        clock=clock,
    )
    session.commit()
    manager = signed_in(app, "manager@example.com")
    manager.post(
        f"/admin/acme/rewards/{reward.id}",
        {"action": "availability", "stock": "20", "limit_per_member": "2", "ends": "2026-06-30", "min_tier": "Gold"},
    )
    session.expire_all()
    saved = session.get(Reward, reward.id)
    assert (saved.stock, saved.limit_per_member, saved.ends_at.date().isoformat()) == (20, 2, "2026-06-30")
    assert saved.min_tier_id is not None
    page = manager.post(
        f"/admin/acme/rewards/{reward.id}",
        {"action": "codes", "codes": "ship-1\nSHIP-2\nship-1\n"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "2 new codes imported" in page and "2 unused" in page
    for bad in (
        {"action": "availability", "ends": "someday"},
        {"action": "availability", "min_tier": "Platinum"},
        {"action": "codes", "codes": "has spaces in it"},
    ):
        assert "Not saved" in manager.post(f"/admin/acme/rewards/{reward.id}", bad, follow_redirects=True).get_data(
            as_text=True
        )
    session.expire_all()
    assert session.get(Reward, reward.id).stock == 20
    assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "reward.update",
        "reward.import_codes",
    ]
