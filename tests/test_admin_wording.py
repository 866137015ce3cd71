"""The admin speaks a program manager's language: labels, not stored identifiers; settings in words.

Issue 20's "Developer language": every select shows words (the core's from
:mod:`loyalty.admin.labels`, a plugin's from its schema's metadata), a rule's
settings read as words instead of its JSON config.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from loyalty.admin.schema_forms import fields_of
from loyalty.models import Entry, Tier
from loyalty.tiers.schemes import WindowedSchema
from tests.helpers.admin import Browser, browser, shop, signed_in, users  # noqa: F401 (fixtures)


def options(page: str, select_id: str) -> list[tuple[str, str]]:
    """``(value, text)`` of each option of the select ``select_id`` in ``page``."""
    select = re.search(rf'<select id="{re.escape(select_id)}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def shown(options_: list[tuple[str, str]]) -> list[str]:
    return [text for _, text in options_]


def test_no_select_shows_a_stored_identifier(app, shop, users):
    owner = signed_in(app, "owner@example.com")
    settings = owner.get("/admin/acme/settings").get_data(as_text=True)
    assert ("cap_at_zero", "Take back only what is left (the balance stops at zero)") in options(
        settings, "clawback_policy"
    )
    assert ("end_of_year", "At the end of a year after they are earned") in options(settings, "expiry_policy")
    tiers = owner.get("/admin/acme/tiers?scheme=points_earned").get_data(as_text=True)
    assert ("after_grace", "After a grace period below the keep threshold") in options(tiers, "settings.downgrade")
    assert ("calendar_year", "The calendar year (since 1 January)") in options(tiers, "settings.window")
    assert "Use “Points earned" in tiers and "Use points_earned" not in tiers
    custom = owner.get("/admin/acme/rules/new?type=custom_event").get_data(as_text=True)
    assert shown(options(custom, "config.per")) == ["Per day", "Per week", "Per month", "Per year"]
    assert ("down", "Round down") in options(custom, "config.rounding")
    assert owner.post("/admin/acme/jobs", {"job": "release"}).status_code == 302
    jobs = owner.get("/admin/acme/jobs").get_data(as_text=True)
    assert "Tier recalculation (acme): At 03:00 UTC" in shown(options(jobs, "job"))
    assert "Release pending points: Every 15 minutes UTC" in shown(options(jobs, "job"))
    assert "<td>Release pending points</td>" in jobs and "&#34;" not in jobs  # the run's counts in words, no JSON
    stores = owner.get("/admin/acme/connections").get_data(as_text=True)
    assert ("stripe", "Stripe") in options(stores, "type")
    for page in (settings, tiers, custom, jobs, stores):
        for value, text in re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', page):
            assert "_" not in text, f"option {value!r} shows {text!r}"


def test_a_field_without_words_is_spelled_out():
    from marshmallow import Schema, fields, validate

    class PluginSettings(Schema):
        max_per_day = fields.Integer()
        mode = fields.String(validate=validate.OneOf(("fast_lane", "slow")), metadata={"labels": {"slow": "Slowly"}})

    spec_max, spec_mode = fields_of(PluginSettings)
    assert spec_max.label == "Max per day"
    assert spec_mode.choice_labels == (("fast_lane", "Fast lane"), ("slow", "Slowly"))
    assert spec_mode.words("slow") == "Slowly" and spec_max.words(None) == "none"
    labels = {spec.name: spec.label for spec in fields_of(WindowedSchema)}
    assert labels["grace_days"] == "Grace period (days)" and labels["window"] == "Counted over"


class TestTimeZone:
    """A program's time zone: times shown and dates typed in it, UTC in storage."""

    def test_the_zone_is_a_setting_and_a_bad_one_changes_nothing(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        form = {
            "name": shop.name,
            "return_window_days": "0",
            "clawback_policy": "allow_negative",
            "expiry_policy": "none",
            "timezone": "Mars/Olympus_Mons",
        }
        refused = manager.post("/admin/acme/settings", form).get_data(as_text=True)
        assert "Not saved: 1 problem to correct" in refused and "unknown time zone" in refused
        session.expire_all()
        assert shop.timezone == "UTC"
        assert manager.post("/admin/acme/settings", {**form, "timezone": "Europe/Paris"}).status_code == 302
        session.expire_all()
        assert shop.timezone == "Europe/Paris"
        page = manager.get("/admin/acme/settings").get_data(as_text=True)
        assert ("Europe/Paris", "Europe/Paris") in options(page, "timezone")
        assert '<option value="Europe/Paris" selected>' in page

    def test_a_campaign_is_entered_with_pickers_in_the_programs_zone(self, app, session, shop, users):
        from loyalty.models import EarningRule

        shop.timezone = "America/New_York"
        session.commit()
        manager = signed_in(app, "manager@example.com")
        form_page = manager.get("/admin/acme/rules/new?type=campaign_multiplier").get_data(as_text=True)
        assert 'type="datetime-local" id="config.starts_at"' in form_page and "in America/New_York" in form_page
        answer = manager.post(
            "/admin/acme/rules/new?type=campaign_multiplier",
            {
                "name": "Black Friday",
                "config.multiplier": "2",
                "config.starts_at": "2026-11-27T00:00",  # midnight in New York: 05:00 UTC (EST, -05:00)
                "config.ends_at": "2026-11-30T00:00",
            },
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)
        rule = session.scalar(select(EarningRule).where(EarningRule.name == "Black Friday"))
        assert rule.config["starts_at"] == "2026-11-27T00:00:00-05:00"
        listed = manager.get("/admin/acme/rules").get_data(as_text=True)
        assert "<dt>Starts</dt><dd>2026-11-27 00:00 (America/New_York)</dd>" in listed
        edit = manager.get(f"/admin/acme/rules/{rule.id}").get_data(as_text=True)
        assert 'value="2026-11-27T00:00"' in edit and 'value="2026-11-30T00:00"' in edit

    def test_a_date_typed_without_a_time_is_refused_by_its_field(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        page = manager.post(
            "/admin/acme/rules/new?type=campaign_multiplier",
            {"name": "Bad", "config.multiplier": "2", "config.starts_at": "yesterday", "config.ends_at": ""},
        ).get_data(as_text=True)
        assert "Not saved" in page and "Not a valid datetime." in page and "Missing data for required field." in page

    def test_the_ledger_is_shown_in_the_programs_zone(self, app, session, shop, users):
        shop.timezone = "Asia/Tokyo"  # UTC+9: the seed earning, at 12:00 UTC on the test clock, reads 21:00
        session.commit()
        page = signed_in(app, "manager@example.com").get("/admin/acme/members/c-ann").get_data(as_text=True)
        assert "When (Asia/Tokyo)" in page
        seeded = session.scalar(select(Entry.created_at).where(Entry.idempotency_key == "seed"))
        assert (
            f"{seeded:%H:%M}" == "12:00"
            and f"{seeded:%Y-%m-%d} 21:00" in page
            and f"{seeded:%Y-%m-%d} 12:00" not in page
        )


class TestAuditLog:
    def test_each_change_reads_as_a_before_and_after(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        form = {
            "name": "Acme “Rewards” …",  # non-ASCII: shown as typed, never as \u escapes
            "return_window_days": "14",
            "clawback_policy": "cap_at_zero",
            "expiry_policy": "none",
            "timezone": "UTC",
        }
        assert manager.post("/admin/acme/settings", form).status_code == 302
        manager.post("/admin/acme/rules/new?type=points_per_currency", {"name": "Base", "config.points_per_unit": "1"})
        log = manager.get("/admin/acme/audit").get_data(as_text=True)
        assert "Settings changed" in log and "Rule added" in log
        assert '<span class="field">Name</span>:' in log and "<ins>Acme “Rewards” …</ins>" in log
        assert '<span class="field">Return window days</span>:\n      <del>0</del> → <ins>14</ins>' in log
        assert "Config › Points per unit" in log
        assert "\\u" not in log and "{&#34;" not in log and "Timezone" not in log  # unchanged fields left out


def test_changes_between_two_versions():
    from loyalty.admin.audit import action_words, changes, target_words

    found = changes(
        {"name": "Base", "active": True, "config": {"rate": "1", "skus": ["A"]}, "gone": 1},
        {"name": "Base", "active": False, "config": {"rate": "2", "skus": ["A", "B"]}, "new": None},
    )
    assert [(c.field, c.before, c.after) for c in found] == [
        ("Active", "yes", "no"),
        ("Config › Rate", "1", "2"),
        ("Config › Skus", "A", "A, B"),
        ("Gone", "1", None),
        ("New", None, "—"),
    ]
    assert changes(None, {"x": "y" * 400})[0].after.endswith("…")
    assert action_words("rule.pause") == "Rule paused" and action_words("api_key.revoke") == "API key revoked"
    assert action_words("plugin.did_something") == "Plugin did something"
    assert target_words("storefront:shopify") == "Store shopify" and target_words("tier scheme") == "tier scheme"


class TestTierUnits:
    def test_thresholds_show_their_unit_and_a_switch_of_unit_is_confirmed(
        self, app, session, shop, users, registry, clock
    ):
        from loyalty.tiers.levels import add_tier, set_scheme

        set_scheme(session, shop, registry, "points_earned", {})
        add_tier(session, shop, name="Silver", rank=1, threshold="200", clock=clock)
        add_tier(session, shop, name="Gold", rank=2, threshold="500", keep_threshold="400", clock=clock)
        session.commit()
        manager = signed_in(app, "manager@example.com")
        page = manager.get("/admin/acme/tiers").get_data(as_text=True)
        assert "From (points)" in page and "Reached from (points)" in page and 'id="unit-warning"' not in page
        gold = session.scalar(select(Tier).where(Tier.name == "Gold"))
        assert "Reached from (points)" in manager.get(f"/admin/acme/tiers/{gold.id}").get_data(as_text=True)

        switching = manager.get("/admin/acme/tiers?scheme=amount_spent").get_data(as_text=True)
        assert 'id="unit-warning"' in switching
        assert "Silver from 200 USD, Gold from 500 USD." in switching
        form = {"action": "scheme", "scheme": "amount_spent", "settings.window": "rolling"}
        refused = manager.post("/admin/acme/tiers", form).get_data(as_text=True)
        assert "Not saved: the tiers&#39; thresholds count points today and would count USD" in refused
        session.expire_all()
        assert shop.tier_scheme == "points_earned"
        assert manager.post("/admin/acme/tiers", {**form, "confirm_unit": "1"}).status_code == 302
        session.expire_all()
        assert shop.tier_scheme == "amount_spent"
        assert "From (USD)" in manager.get("/admin/acme/tiers").get_data(as_text=True)
        # same unit, no question: another window of the same scheme
        assert manager.post("/admin/acme/tiers", {**form, "settings.window": "calendar_year"}).status_code == 302


class TestEveryErrorAtOnce:
    """A refused form says every problem, each beside its input, and changes nothing."""

    def test_a_tier_with_four_bad_fields(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        page = manager.post(
            "/admin/acme/tiers",
            {
                "action": "tier",
                "name": "",
                "rank": "first",
                "threshold": "lots",
                "keep_threshold": "-1",
                "earn_multiplier": "0",
            },
        ).get_data(as_text=True)
        assert "Not saved: 5 problems to correct, shown by each field." in page
        for message in (
            "a tier needs a name of 1 to 100 characters",
            "the rank must be a whole number",
            "threshold &#39;lots&#39; is not a number",
            "keep threshold must be zero or more",
            "the earn multiplier must be above 0",
        ):
            assert message in page
        assert 'value="lots"' in page and 'value="first"' in page  # what was typed stays
        assert session.scalar(select(func.count()).select_from(Tier)) == 0
        assert "{&#39;" not in page and "[&#39;" not in page  # no Python dict or list

    def test_settings_with_three_bad_fields(self, app, session, shop, users):
        manager = signed_in(app, "manager@example.com")
        page = manager.post(
            "/admin/acme/settings",
            {
                "name": " ",
                "return_window_days": "two weeks",
                "clawback_policy": "allow_negative",
                "expiry_policy": "after_days",
                "expiry_after": "0",
                "timezone": "UTC",
            },
        ).get_data(as_text=True)
        assert "Not saved: 3 problems to correct" in page
        assert "a program needs a name" in page and "the return window is a whole number" in page
        assert "expiry policy after_days needs an expiry period" in page
        assert 'value="two weeks"' in page
        session.expire_all()
        assert shop.return_window_days == 0 and shop.expiry_policy == "none" and shop.name != " "


def test_the_domain_reports_every_problem_of_a_tier(session, program, clock):
    import pytest

    from loyalty import errors
    from loyalty.tiers.levels import add_tier

    with pytest.raises(errors.InvalidInput) as refused:
        add_tier(session, program, name="x" * 101, rank=True, threshold="NaN", earn_multiplier="1", clock=clock)
    assert set(refused.value.details["fields"]) == {"name", "rank", "threshold"}
    assert refused.value.message.startswith("invalid tier: ") and "a tier needs a name" in refused.value.message


class TestErrorPages:
    """Errors at /admin are pages in the admin's layout; the APIs and webhooks keep their JSON."""

    def test_each_error_is_a_page_that_says_what_to_do(self, app, session, shop, users):
        viewer = signed_in(app, "viewer@example.com")
        missing = viewer.get("/admin/acme/no-such-page")
        assert missing.status_code == 404 and missing.content_type.startswith("text/html")
        assert "There is nothing here" in missing.get_data(as_text=True) and "Loyalty admin" in missing.get_data(
            as_text=True
        )
        assert viewer.get("/admin/acme/members/no-such-member").status_code == 404
        forbidden = viewer.post("/admin/acme/settings", {"name": "x"})
        assert forbidden.status_code == 403 and "Your role cannot do this" in forbidden.get_data(as_text=True)
        control = viewer.get("/admin/acme/members?q=%00")
        assert control.status_code == 400 and "control character" in control.get_data(as_text=True)
        app.config["ADMIN_LOGIN_LIMIT"] = "1 per minute"
        stranger = Browser(app)
        stranger.sign_in("owner@example.com", "wrong")
        limited = stranger.sign_in("owner@example.com", "wrong")
        assert limited.status_code == 429 and "Too many attempts" in limited.get_data(as_text=True)

    def test_a_bug_is_a_500_page_that_changed_nothing(self, app, session, shop, users, monkeypatch):
        import loyalty.admin.audit as audit_view

        monkeypatch.setattr(audit_view, "render_template", lambda *a, **kw: 1 / 0)
        app.config["PROPAGATE_EXCEPTIONS"] = False
        shown = signed_in(app, "manager@example.com").get("/admin/acme/audit")
        assert shown.status_code == 500 and "Nothing was changed" in shown.get_data(as_text=True)
        assert "ZeroDivisionError" not in shown.get_data(as_text=True)

    def test_the_api_keeps_json(self, app):
        answer = app.test_client().get("/api/v1/no-such-thing")
        assert answer.status_code == 404 and answer.json["code"] == "not_found"


def test_the_front_page_leads_to_the_admin_and_the_api_docs(app):
    page = app.test_client().get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="/admin/login"' in text and 'href="/api/v1/docs"' in text and 'href="/healthz"' in text


def test_a_moment_at_the_calendars_edge_is_refused_by_its_field_not_a_500(app, session, shop, users):
    shop.timezone = "Asia/Tokyo"
    session.commit()
    page = signed_in(app, "manager@example.com").post(
        "/admin/acme/rules/new?type=campaign_multiplier",
        {
            "name": "Edge",
            "config.multiplier": "2",
            "config.starts_at": "0001-01-01T00:00",
            "config.ends_at": "9999-12-31T23:59",
        },
    )
    assert page.status_code == 200 and "Not saved" in page.get_data(as_text=True)
