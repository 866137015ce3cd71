"""Config errors of tier schemes, rewards and referral settings read per field, as rule errors do.

They were printed as a Python dict (``{'window_days': ['Must be ...']}``)
in the CLI and the admin's flash, and the admin showed nothing by the
field for a tier scheme (the error carried no fields).
"""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from loyalty.validation import describe, invalid, per_field

WINDOW_DAYS = "window_days: Must be greater than or equal to 1 and less than or equal to 3650."
PREFIX = "prefix: up to 10 capital letters or digits"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["tiers", "scheme", "--program", "acme", "--scheme", "points_earned", "--settings", '{"window_days": 0}'],
            f"invalid settings for tier scheme points_earned: {WINDOW_DAYS}",
        ),
        (
            [
                "rewards",
                "add",
                "--program",
                "acme",
                "--type",
                "fixed_amount_code",
                "--name",
                "Five off",
                "--points",
                "500",
                "--config",
                '{"amount": "5.00", "prefix": "lower"}',
            ],
            f"invalid config for reward type fixed_amount_code: {PREFIX}",
        ),
        (
            ["referrals", "check", "--program", "acme", "velocity", "--settings", '{"max_per_ip": "many"}'],
            "invalid settings for check velocity: max_per_ip: Not a valid integer.",
        ),
        (["referrals", "terms", "--program", "acme", "--min-order", "-5"], "invalid referral terms: min_order:"),
    ],
)
def test_the_cli_shows_config_errors_per_field(runner, program, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert "{'" not in result.output and "['" not in result.output


class TestAdmin:
    @pytest.fixture
    def manager(self, app, session, program, clock):
        from loyalty.access.admin_users import create_admin
        from tests.helpers.admin import PASSWORD, signed_in

        create_admin(session, email="manager@example.com", password=PASSWORD, role="manager", clock=clock)
        session.commit()
        return signed_in(app, "manager@example.com")

    @staticmethod
    def by_field(page: str, name: str) -> str:
        """The text of the form's paragraph holding the input ``name``."""
        start = page.index(f'name="{name}"')
        return html.unescape(page[start : page.index("</p>", start)])

    def test_a_tier_scheme_error_is_shown_by_its_field(self, manager):
        answer = manager.post(
            "/admin/acme/tiers",
            {"action": "scheme", "scheme": "points_earned", "settings.window": "rolling", "settings.window_days": "0"},
        )
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "{'" not in html.unescape(page)
        assert "Not saved: 1 problem to correct, shown by each field." in html.unescape(page)
        assert "Must be greater than or equal to 1" in self.by_field(page, "settings.window_days")

    def test_a_reward_config_error_is_shown_by_its_field(self, manager):
        answer = manager.post(
            "/admin/acme/rewards/new?type=fixed_amount_code",
            {"name": "Five off", "points": "500", "config.amount": "5.00", "config.prefix": "lower"},
        )
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "{'" not in html.unescape(page)
        assert f"Not saved: invalid config for reward type fixed_amount_code: {PREFIX}" in html.unescape(page)
        assert "up to 10 capital letters or digits" in self.by_field(page, "config.prefix")


messages = st.recursive(
    st.lists(st.text(min_size=1), min_size=1),
    lambda inner: st.dictionaries(st.one_of(st.text(min_size=1), st.integers(0, 9)), inner, min_size=1),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1), messages, min_size=1))
def test_any_marshmallow_messages_read_as_sentences(found):
    """Whatever marshmallow nests, the text names each field and shows no Python structure."""
    error = invalid("config for rule type x", ValidationError(found))
    text = describe(found)
    assert error.message == f"invalid config for rule type x: {text}"
    assert set(per_field(found)) == {str(key) for key in found}
    for sentences in per_field(found).values():
        assert sentences and all(isinstance(sentence, str) for sentence in sentences)
    for key in found:
        assert key in text
