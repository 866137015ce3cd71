"""Tests for the example tier scheme, written with the kit the platform ships (loyalty.testing)."""

from datetime import timedelta

import loyalty_largest_order
import pytest

from loyalty.plugin_api import errors
from loyalty.testing import order_paid


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_largest_order]


@pytest.fixture
def tiers(loyalty_add_tier, loyalty_set_scheme):
    silver, gold = loyalty_add_tier("Silver", threshold="50"), loyalty_add_tier("Gold", threshold="200")
    loyalty_set_scheme("largest_order", {"window": "rolling", "window_days": 30})
    return silver, gold


def test_the_largest_order_decides_not_the_sum(tiers, loyalty_member, loyalty_push, loyalty_recalculate):
    silver, gold = tiers
    for _ in range(5):
        loyalty_push(order_paid("60.00"))  # 300.00 in all, but no single order of 200
    loyalty_recalculate()
    assert loyalty_member.tier == silver
    loyalty_push(order_paid("250.00"))
    loyalty_recalculate()
    assert loyalty_member.tier == gold


def test_orders_leave_the_window(
    tiers, loyalty_member, loyalty_push, loyalty_recalculate, loyalty_clock, loyalty_set_scheme
):
    silver, _ = tiers
    loyalty_set_scheme("largest_order", {"window": "rolling", "window_days": 30, "downgrade": "at_recalculation"})
    loyalty_push(order_paid("80.00"))
    loyalty_recalculate()
    assert loyalty_member.tier == silver
    loyalty_clock.advance(timedelta(days=31))
    loyalty_recalculate()
    assert loyalty_member.tier is None


def test_settings_are_checked(loyalty_set_scheme):
    with pytest.raises(errors.InvalidInput, match="window_days"):
        loyalty_set_scheme("largest_order", {"window_days": 0})
