"""Tests for the example plugin, written with the fixtures the platform ships (loyalty.testing)."""

import loyalty_spend_threshold
import pytest

from loyalty.plugin_api import errors
from loyalty.testing import order_paid

STEPS = {"steps": [{"spend": "100", "points": 50}, {"spend": "200", "points": 150}]}


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_spend_threshold]


def test_highest_step_reached_pays(loyalty_add_rule, loyalty_push):
    loyalty_add_rule("spend_threshold", STEPS)
    assert loyalty_push(order_paid("99.99")).points == 0
    assert loyalty_push(order_paid("150.00")).points == 50
    assert loyalty_push(order_paid("250.00")).points == 150


def test_discounts_count_against_the_threshold(loyalty_add_rule, loyalty_push):
    loyalty_add_rule("spend_threshold", STEPS)
    assert loyalty_push(order_paid("110.00", subtotal="110.00", discount="20.00")).points == 0


def test_shoppers_read_each_step():
    rule_type = loyalty_spend_threshold.SpendThreshold()
    config = rule_type.schema().load(STEPS)  # loaded, as the platform hands it over: Decimal amounts
    assert rule_type.describe(config, "USD") == (
        "50 points on orders of USD 100 or more, 150 points on orders of USD 200 or more"
    )


def test_steps_must_increase(loyalty_add_rule):
    with pytest.raises(errors.InvalidInput, match="increasing"):
        loyalty_add_rule("spend_threshold", {"steps": [{"spend": "200", "points": 5}, {"spend": "100", "points": 1}]})
