"""Each built-in earning rule, with worked examples."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from loyalty import errors
from loyalty.earning.events import Birthday, Customer, CustomEvent
from loyalty.testing import order_paid
from tests.helpers import available


class TestPointsPerCurrency:
    def test_earns_on_the_subtotal_after_discounts_by_default(self, push, add_rule, session, program):
        add_rule("points_per_currency", {"points_per_unit": "1"})
        outcome = push(order_paid("110.00", subtotal="100.00", discount="20.00", tax="8.00", shipping="22.00"))
        assert [a.points for a, _ in outcome.awards] == [80]
        assert available(session, program, "c-1") == 80

    @pytest.mark.parametrize(
        "config, expected",
        [
            ({"include_tax": True}, 88),
            ({"include_shipping": True}, 102),
            ({"include_tax": True, "include_shipping": True}, 110),
            ({"before_discounts": True}, 100),
        ],
    )
    def test_switches(self, push, add_rule, config, expected):
        add_rule("points_per_currency", {"points_per_unit": "1", **config})
        outcome = push(order_paid("110.00", subtotal="100.00", discount="20.00", tax="8.00", shipping="22.00"))
        assert outcome.points == expected

    @pytest.mark.parametrize("rounding, expected", [("down", 24), ("nearest", 25), ("up", 25)])
    def test_rounding(self, push, add_rule, rounding, expected):
        # 1.5 points per $1 on $16.39 = 24.585 points
        add_rule("points_per_currency", {"points_per_unit": "1.5", "rounding": rounding})
        assert push(order_paid("16.39")).points == expected

    def test_nearest_rounds_half_up(self, push, add_rule):
        add_rule("points_per_currency", {"points_per_unit": "0.5", "rounding": "nearest"})
        assert push(order_paid("5.00")).points == 3  # 2.5 -> 3

    def test_tier_multiplier_applies(self, push, add_rule, session, program, member_factory, clock, registry):
        from loyalty.tiers.levels import add_tier, set_member_tier

        gold = add_tier(session, program, name="Gold", rank=2, earn_multiplier="1.5", clock=clock)
        set_member_tier(session, member_factory("c-1"), gold, clock=clock, registry=registry)
        session.commit()
        add_rule("points_per_currency", {"points_per_unit": "2"})
        assert push(order_paid("33.33")).points == 99  # 66.66 x 1.5 = 99.99, rounded down

    def test_tier_multiplier_can_be_switched_off(
        self, push, add_rule, session, program, member_factory, clock, registry
    ):
        from loyalty.tiers.levels import add_tier, set_member_tier

        set_member_tier(
            session,
            member_factory("c-1"),
            add_tier(session, program, name="Gold", rank=2, earn_multiplier="3", clock=clock),
            clock=clock,
            registry=registry,
        )
        session.commit()
        add_rule("points_per_currency", {"points_per_unit": "1", "apply_tier_multiplier": False})
        assert push(order_paid("10.00")).points == 10

    def test_minimum_order_amount(self, push, add_rule):
        add_rule("points_per_currency", {"points_per_unit": "1", "min_order_amount": "25.00"})
        assert push(order_paid("24.99")).points == 0
        assert push(order_paid("25.00")).points == 25

    def test_zero_decimal_currency(self, push, add_rule, session, clock, registry):
        from loyalty.programs.program import create_program

        yen = create_program(session, slug="jp", name="JP", currency="JPY", clock=clock)
        session.commit()
        add_rule("points_per_currency", {"points_per_unit": "0.01"}, target=yen)
        assert push(order_paid("4500", currency="JPY"), target=yen).points == 45


class TestProductMultiplier:
    LINES = [
        {"sku": "COFFEE-1", "total": "20.00", "title": "Coffee", "categories": ["drinks"]},
        {"sku": "MUG-1", "product_id": "p-9", "total": "15.00", "title": "Mug"},
        {"sku": "CAKE", "total": "5.00", "title": "Cake", "categories": ["food"]},
    ]

    @pytest.mark.parametrize(
        "match, expected_extra",
        [
            ({"skus": ["COFFEE-1"]}, 40),  # 20 x 1 x (3 - 1)
            ({"product_ids": ["p-9"]}, 30),
            ({"categories": ["drinks", "food"]}, 50),
        ],
    )
    def test_extra_points_on_matching_lines(self, push, add_rule, match, expected_extra):
        add_rule("points_per_currency", {"points_per_unit": "1"}, name="base")
        add_rule("product_multiplier", {"multiplier": "3", **match}, name="triple")
        outcome = push(order_paid("40.00", lines=self.LINES))
        assert {a.rule_name: a.points for a, _ in outcome.awards} == {"base": 40, "triple": expected_extra}

    def test_needs_something_to_match(self, add_rule):
        with pytest.raises(errors.InvalidInput, match="skus"):
            add_rule("product_multiplier", {"multiplier": "2"})


class TestFirstOrderBonus:
    def test_only_the_first_paid_order(self, push, add_rule):
        add_rule("first_order_bonus", {"points": 200})
        assert push(order_paid("10.00")).points == 200
        assert push(order_paid("10.00")).points == 0
        assert push(order_paid("10.00", customer="c-2")).points == 200


class TestSignupBonus:
    def test_on_enrolment_whichever_way(self, push, add_rule, session, program):
        from loyalty.earning.events import CustomerCreated

        add_rule("signup_bonus", {"points": 50})
        assert push(CustomerCreated(Customer("c-1", "a@example.com"))).status == "processed"
        assert available(session, program, "c-1") == 50
        assert push(CustomerCreated(Customer("c-1"))).status == "duplicate"
        push(order_paid("10.00", customer="c-2"))  # enrolled by the order
        assert available(session, program, "c-2") == 50
        assert available(session, program, "c-1") == 50


class TestBirthdayBonus:
    def test_once_a_year(self, push, add_rule, session, program, member_factory):
        from datetime import date

        member_factory("c-1", birthday=date(1990, 1, 1))
        add_rule("birthday_bonus", {"points": 100})
        event = Birthday(Customer("c-1"), 2026)
        assert push(event).points == 100
        assert push(event).status == "duplicate"
        assert push(Birthday(Customer("c-1"), 2027)).points == 100
        assert available(session, program, "c-1") == 200

    def test_no_birthday_no_bonus(self, push, add_rule, member_factory):
        member_factory("c-1")
        add_rule("birthday_bonus", {"points": 100})
        assert push(Birthday(Customer("c-1"), 2026)).points == 0


class TestCampaignMultiplier:
    def test_inside_and_outside_the_window(self, push, add_rule):
        add_rule("points_per_currency", {"points_per_unit": "1"}, name="base")
        add_rule(
            "campaign_multiplier",
            {
                "multiplier": "2",
                "starts_at": "2026-03-01T00:00:00+00:00",
                "ends_at": "2026-03-03T00:00:00+00:00",
            },
            name="double",
        )
        at = lambda day, hour=12: datetime(2026, 3, day, hour, tzinfo=timezone.utc)  # noqa: E731
        assert push(order_paid("30.00", occurred_at=at(1, 0))).points == 60  # start is inclusive
        assert push(order_paid("30.00", occurred_at=at(2, 23))).points == 60
        assert push(order_paid("30.00", occurred_at=at(3, 0))).points == 30  # end is exclusive
        assert push(order_paid("30.00", occurred_at=at(1) - timedelta(days=1))).points == 30

    def test_window_must_be_ordered(self, add_rule):
        with pytest.raises(errors.InvalidInput, match="ends_at"):
            add_rule(
                "campaign_multiplier",
                {
                    "multiplier": "2",
                    "starts_at": "2026-03-03T00:00:00+00:00",
                    "ends_at": "2026-03-01T00:00:00+00:00",
                },
            )


class TestCustomEvent:
    def review(self, event_id, name="review_written"):
        return CustomEvent(event_id=event_id, customer=Customer("c-1"), name=name)

    def test_points_for_the_named_event_only(self, push, add_rule):
        add_rule("custom_event", {"event_name": "review_written", "points": 25})
        assert push(self.review("r1")).points == 25
        assert push(self.review("f1", name="social_follow")).points == 0

    def test_same_event_id_twice_earns_once(self, push, add_rule):
        add_rule("custom_event", {"event_name": "review_written", "points": 25})
        assert push(self.review("r1")).points == 25
        again = push(self.review("r1"))
        assert again.points == 0 and again.status == "duplicate"

    def test_cap_per_day(self, push, add_rule, clock):
        add_rule("custom_event", {"event_name": "review_written", "points": 10, "limit": 2, "per": "day"})
        assert [push(self.review(f"r{i}")).points for i in range(3)] == [10, 10, 0]
        clock.advance(timedelta(days=1))
        assert push(self.review("r9")).points == 10

    def test_cap_per_month(self, push, add_rule, clock):
        add_rule("custom_event", {"event_name": "review_written", "points": 10, "limit": 1, "per": "month"})
        assert push(self.review("a")).points == 10
        clock.advance(timedelta(days=20))  # still January
        assert push(self.review("b")).points == 0
        clock.advance(timedelta(days=15))  # February
        assert push(self.review("c")).points == 10

    def test_once_only(self, push, add_rule, clock):
        add_rule("custom_event", {"event_name": "social_follow", "points": 30, "once_only": True})
        assert push(self.review("f1", "social_follow")).points == 30
        clock.advance(timedelta(days=400))
        assert push(self.review("f2", "social_follow")).points == 0


@pytest.mark.parametrize(
    "type, config, field",
    [
        ("points_per_currency", {}, "points_per_unit"),
        ("points_per_currency", {"points_per_unit": "-1"}, "points_per_unit"),
        ("points_per_currency", {"points_per_unit": "1", "rounding": "sideways"}, "rounding"),
        ("points_per_currency", {"points_per_unit": "1", "bogus": 1}, "bogus"),
        ("first_order_bonus", {"points": 0}, "points"),
        ("first_order_bonus", {"points": "many"}, "points"),
        ("custom_event", {"event_name": "x", "points": 5, "per": "decade"}, "per"),
        (
            "campaign_multiplier",
            {"multiplier": "2", "starts_at": "2026-03-01T00:00:00", "ends_at": "2026-03-02T00:00:00+00:00"},
            "starts_at",
        ),
    ],
)
def test_invalid_configs_are_refused_with_the_schema_messages(add_rule, session, type, config, field):
    from sqlalchemy import func, select

    from loyalty.models import EarningRule

    with pytest.raises(errors.InvalidInput) as caught:
        add_rule(type, config)
    assert field in caught.value.details["fields"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(EarningRule)) == 0


def test_unknown_rule_type(add_rule):
    with pytest.raises(errors.UnknownRuleType, match="points_per_currency"):
        add_rule("no_such_type", {})
