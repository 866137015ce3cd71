"""Tests for the example reward type, written with the kit the platform ships (loyalty.testing)."""

import loyalty_donation
import pytest

from loyalty.plugin_api import errors


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_donation]


def test_a_fixed_donation_spends_the_points(loyalty_add_reward, loyalty_redeem, loyalty_member, loyalty_balance):
    reward = loyalty_add_reward("donation", points=500, config={"charity": "Trees for All", "amount": "5.00"})
    redemption = loyalty_redeem(loyalty_member, reward, fund=True)
    assert redemption.status == "issued" and redemption.code is None
    assert redemption.details["charity"] == "Trees for All" and redemption.details["amount"] == "5.00"
    assert loyalty_balance("c-1") == 0


def test_a_variable_donation_is_worth_its_steps(loyalty_add_reward, loyalty_redeem, loyalty_member):
    reward = loyalty_add_reward(
        "donation", points=100, step_value="1.00", min_points=100, max_points=1000, config={"charity": "Trees for All"}
    )
    redemption = loyalty_redeem(loyalty_member, reward, points=300, fund=True)
    assert redemption.details["amount"] == "3.00"


def test_a_paused_charity_fails_the_redemption_and_spends_nothing(
    loyalty_add_reward, loyalty_redeem, loyalty_member, loyalty_balance
):
    reward = loyalty_add_reward(
        "donation", points=500, config={"charity": "Trees for All", "amount": "5.00", "paused": True}
    )
    redemption = loyalty_redeem(loyalty_member, reward, fund=True)
    assert redemption.status == "failed" and "paused" in redemption.reason
    assert loyalty_balance("c-1") == 500


def test_a_fixed_donation_needs_an_amount(loyalty_add_reward):
    with pytest.raises(errors.InvalidInput, match="needs an amount"):
        loyalty_add_reward("donation", points=500, config={"charity": "Trees for All"})
