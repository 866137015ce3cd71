"""Tier schemes and recalculation: windows at their boundaries, keep thresholds, downgrade policies,
manual floors, upgrades on events, the history and the hook, progress in the API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from loyalty import errors
from loyalty.access.api_keys import create_key
from loyalty.earning.events import OrderCancelled, OrderRefunded
from loyalty.ledger import Ledger
from loyalty.models import Member, Program, TierChange
from loyalty.plugin_api import hookimpl
from loyalty.programs.members import enrol, get_member
from loyalty.testing import order_paid
from loyalty.tiers.levels import add_tier, get_tier, set_member_tier, set_scheme
from loyalty.tiers.recalculate import recalculate
from tests.helpers import guide_example, statements_issued

DAY = timedelta(days=1)


@pytest.fixture
def tiered(session, program, registry, clock):
    """Bronze from 0, Silver from 500 (kept from 400), Gold from 1000."""
    add_tier(session, program, name="Bronze", rank=1, threshold="0", clock=clock)
    add_tier(
        session,
        program,
        name="Silver",
        rank=2,
        threshold="500",
        keep_threshold="400",
        earn_multiplier="1.25",
        clock=clock,
    )
    add_tier(
        session,
        program,
        name="Gold",
        rank=3,
        threshold="1000",
        earn_multiplier="1.5",
        perks="Free shipping",
        clock=clock,
    )
    set_scheme(session, program, registry, "points_earned", {"window": "rolling", "window_days": 30})
    session.commit()
    return program


def scheme(session, program, registry, name, **settings):
    set_scheme(session, program, registry, name, settings)
    session.commit()


def tier_of(session, program, external_id="c-1") -> str | None:
    session.expire_all()
    member = get_member(session, program, external_id)
    return member.tier.name if member.tier else None


def recalc(session, program, registry, clock):
    result = recalculate(session, program, registry=registry, clock=clock)
    session.commit()
    return result


def test_rolling_window_drops_points_on_the_day(session, tiered, member, registry, clock):
    Ledger(session, clock).earn(member, 600, key="e1")
    session.commit()
    assert recalc(session, tiered, registry, clock).upgraded == 1
    assert tier_of(session, tiered) == "Silver"
    clock.advance(timedelta(days=30) - timedelta(seconds=1))  # still inside the 30 days
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    clock.advance(timedelta(seconds=2))  # the earning is now 30 days and a second old
    assert recalc(session, tiered, registry, clock).downgraded == 1
    assert tier_of(session, tiered) == "Bronze"
    reasons = session.scalars(select(TierChange.reason).order_by(TierChange.id)).all()
    assert reasons == ["upgrade", "downgrade"]


def test_spending_never_demotes_but_refunds_do(session, tiered, member, registry, clock):
    ledger = Ledger(session, clock)
    earned = ledger.earn(member, 520, key="e1")
    recalc(session, tiered, registry, clock)
    ledger.redeem(member, 500, key="spend")
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    ledger.reverse(earned.entry_id, 100, key="refund", reason="refund", actor="test")  # 420: kept (keep 400)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    ledger.reverse(earned.entry_id, 30, key="refund-2", reason="refund", actor="test")  # 390: below keep
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Bronze"


def test_calendar_year_window(session, tiered, member, registry, clock):
    scheme(session, tiered, registry, "points_earned", window="calendar_year")
    clock.set(clock.now().replace(month=12, day=31, hour=23, minute=0))
    Ledger(session, clock).earn(member, 1200, key="e1")
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Gold"
    clock.advance(timedelta(hours=2))  # New Year: the year's points no longer count
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Bronze"


def test_amount_spent_and_orders_count(session, tiered, push, registry, clock):
    scheme(session, tiered, registry, "amount_spent", window="rolling", window_days=365)
    push(order_paid("600.00", order_id="o-1"))
    assert tier_of(session, tiered) == "Silver"  # upgraded by the order itself
    push(order_paid("500.00", order_id="o-2"))
    assert tier_of(session, tiered) == "Gold"
    push(OrderRefunded("o-2", "r-1", Decimal("200.00"), "USD"))
    push(OrderCancelled("o-1"))
    recalc(session, tiered, registry, clock)  # 300 left: below Silver's keep threshold
    assert tier_of(session, tiered) == "Bronze"


def test_orders_count_in_a_window(session, program, registry, push, clock):
    add_tier(session, program, name="Regular", rank=1, threshold="2", clock=clock)
    set_scheme(session, program, registry, "orders_count", {"window": "rolling", "window_days": 30})
    session.commit()
    push(order_paid("5.00", order_id="o-1"))
    assert tier_of(session, program) is None
    clock.advance(29 * DAY)
    push(order_paid("5.00", order_id="o-2"))
    assert tier_of(session, program) == "Regular"  # two orders in 30 days
    push(OrderCancelled("o-2"))
    recalc(session, program, registry, clock)
    assert tier_of(session, program) is None  # a cancelled order does not count


def test_lifetime_points_never_expire(session, tiered, member, registry, clock):
    scheme(session, tiered, registry, "lifetime_points")
    Ledger(session, clock).earn(member, 1000, key="e1")
    recalc(session, tiered, registry, clock)
    clock.advance(timedelta(days=3650))
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Gold"


def test_grace_period(session, tiered, member, registry, clock):
    scheme(
        session,
        tiered,
        registry,
        "points_earned",
        window="rolling",
        window_days=30,
        downgrade="after_grace",
        grace_days=10,
    )
    Ledger(session, clock).earn(member, 600, key="e1")
    recalc(session, tiered, registry, clock)
    clock.advance(31 * DAY)  # the points left the window: at risk from now
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    clock.advance(9 * DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    clock.advance(DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Bronze"


def test_recovering_within_the_grace_period_clears_it(session, tiered, member, registry, clock):
    scheme(session, tiered, registry, "points_earned", window_days=30, downgrade="after_grace", grace_days=10)
    ledger = Ledger(session, clock)
    ledger.earn(member, 600, key="e1")
    recalc(session, tiered, registry, clock)
    clock.advance(31 * DAY)
    recalc(session, tiered, registry, clock)
    ledger.earn(member, 450, key="e2")  # back above the keep threshold
    recalc(session, tiered, registry, clock)
    session.expire_all()
    assert get_member(session, tiered, "c-1").tier_at_risk_since is None
    clock.advance(20 * DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"


def test_one_step_down_and_never(session, tiered, member, registry, clock):
    scheme(session, tiered, registry, "points_earned", window_days=30, one_step_down=True)
    Ledger(session, clock).earn(member, 1000, key="e1")
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Gold"
    clock.advance(31 * DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Bronze"
    scheme(session, tiered, registry, "points_earned", window_days=30, downgrade="never")
    Ledger(session, clock).earn(member, 1000, key="e2")
    recalc(session, tiered, registry, clock)
    clock.advance(31 * DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Gold"


def test_manual_tier_is_a_floor_until_its_date(session, tiered, member, registry, clock):
    gold = get_tier(session, tiered, "Gold")
    set_member_tier(session, member, gold, until=clock.now() + 10 * DAY, clock=clock, registry=registry)
    session.commit()
    Ledger(session, clock).earn(member, 600, key="e1")  # earns Silver: the floor keeps Gold
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Gold"
    clock.advance(11 * DAY)
    recalc(session, tiered, registry, clock)
    assert tier_of(session, tiered) == "Silver"
    session.expire_all()
    assert get_member(session, tiered, "c-1").tier_floor_id is None
    reasons = session.scalars(select(TierChange.reason).order_by(TierChange.id)).all()
    assert reasons == ["manual", "downgrade"]
    with pytest.raises(errors.InvalidInput):
        set_member_tier(session, member, None, until=clock.now() - DAY, clock=clock, registry=registry)


def test_upgrade_on_event_fires_the_hook(session, tiered, registry, push, clock, add_rule):
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base")
    seen = []

    class Listener:
        @hookimpl
        def tier_changed(self, program, member, old_tier, new_tier, reason):
            seen.append((member.external_id, old_tier.name if old_tier else None, new_tier.name, reason))

    listener = Listener()
    registry.pm.register(listener)
    try:
        push(order_paid("1200.00", order_id="o-1"))  # 1,200 points at once: straight to Gold
    finally:
        registry.pm.unregister(listener)
    assert seen == [("c-1", None, "Gold", "upgrade")]
    assert tier_of(session, tiered) == "Gold"


def test_invalid_scheme_settings_change_nothing(session, tiered, registry, clock):
    for name, settings in (
        ("points_earned", {"window_days": 0}),
        ("points_earned", {"downgrade": "sometimes"}),
        ("points_earned", {"surprise": 1}),
        ("no_such_scheme", {}),
    ):
        with pytest.raises(errors.InvalidInput):
            set_scheme(session, tiered, registry, name, settings)
        session.rollback()
    session.expire_all()
    assert session.get(Program, tiered.id).tier_settings == {
        "downgrade": "at_recalculation",
        "grace_days": 30,
        "one_step_down": False,
        "window": "rolling",
        "window_days": 30,
    }
    with pytest.raises(errors.InvalidInput):
        add_tier(session, tiered, name="Platinum", rank=4, threshold="100", keep_threshold="200", clock=clock)
    with pytest.raises(errors.InvalidInput):
        add_tier(session, tiered, name="Platinum", rank=4, threshold="-1", clock=clock)


def test_recalculation_is_set_based(session, tiered, registry, clock):
    """The statements a recalculation issues do not grow with the number of members."""
    ledger = Ledger(session, clock)

    def statements_for(count: int, prefix: str) -> int:
        for n in range(count):
            member, _ = enrol(session, tiered, external_id=f"{prefix}-{n}", clock=clock)
            ledger.earn(member, 600 if n % 2 else 1100, key=f"{prefix}-{n}")
        session.commit()
        with statements_issued(session) as issued:
            result = recalc(session, tiered, registry, clock)
        assert result.upgraded == count
        return len([s for s in issued if "tier_changed" not in s])

    small = statements_for(4, "a")
    large = statements_for(60, "b")
    # Only the tier_changed hook's lookups grow (one member and its tiers per change, from the identity map).
    assert large <= small + 3 * 56


def test_progress_in_the_api(app, session, tiered, member, registry, clock):
    Ledger(session, clock).earn(member, 600, key="e1")
    recalc(session, tiered, registry, clock)
    key = create_key(session, tiered, name="t", clock=clock).secret
    session.commit()
    body = app.test_client().get("/api/v1/members/c-1", headers={"Authorization": f"Bearer {key}"}).json
    assert body["tier"]["name"] == "Silver"
    progress = body["tier_progress"]
    assert progress["scheme"] == "points_earned" and progress["metric"] == "points"
    assert Decimal(progress["value"]) == 600
    assert progress["next_tier"]["name"] == "Gold" and Decimal(progress["next_tier"]["remaining"]) == 400
    assert Decimal(progress["keep"]["threshold"]) == 400 and progress["keep"]["by"] is None


def test_tier_cli(runner, session, tiered, member, clock):
    from tests.helpers.cli import fails, ok

    assert ok(runner, "tiers", "history", "--program", "acme", "c-1").strip() == "No tier changes for c-1 yet."
    Ledger(session, clock).earn(member, 1100, key="e1")
    session.commit()
    assert "1 up" in ok(runner, "tiers", "recalc", "--program", "acme")
    assert "Gold" in ok(runner, "tiers", "history", "--program", "acme", "c-1")
    assert "points_earned" in ok(runner, "tiers", "list", "--program", "acme")
    assert "invalid_input" in fails(
        runner, "tiers", "scheme", "--program", "acme", "--scheme", "points_earned", "--cron", "every night"
    )
    assert "invalid_input" in fails(
        runner, "tiers", "scheme", "--program", "acme", "--scheme", "points_earned", "--settings", "{not json"
    )
    ok(
        runner,
        "tiers",
        "scheme",
        "--program",
        "acme",
        "--scheme",
        "orders_count",
        "--settings",
        '{"window": "calendar_year"}',
        "--cron",
        "0 4 * * *",
    )
    session.expire_all()
    program = session.get(Program, tiered.id)
    assert program.tier_scheme == "orders_count" and program.tier_cron == "0 4 * * *"
    held = ok(runner, "members", "set-tier", "--program", "acme", "c-1", "--tier", "Silver", "--until", "2030-01-01")
    assert "held until 2030-01-01" in held
    assert session.scalar(select(func.count()).select_from(Member).where(Member.tier_floor_id.is_not(None))) == 1


def test_the_plugin_guides_tier_scheme_example_works(session, tiered, registry, push, clock):
    """docs/plugins.md's tier scheme, run as written."""
    namespace = guide_example("register_tier_schemes")
    registry.types["tier_schemes"]["discounted_orders"] = namespace["DiscountedOrders"]()
    try:
        scheme(session, tiered, registry, "discounted_orders", window="rolling", window_days=30)
        add_tier(session, tiered, name="Bargain hunter", rank=4, threshold="2", clock=clock)
        session.commit()
        push(order_paid("20.00", discount="5.00", order_id="d-1"))
        push(order_paid("20.00", order_id="d-2"))
        push(order_paid("20.00", discount="1.00", order_id="d-3"))
        assert tier_of(session, tiered) == "Bargain hunter"
    finally:
        del registry.types["tier_schemes"]["discounted_orders"]


@pytest.mark.parametrize("name", ["points_earned", "lifetime_points", "amount_spent", "orders_count"])
def test_a_scheme_asked_for_some_members_gives_their_values_only(
    session, program, registry, push, clock, name, add_rule
):
    """What an event asks (its members only) agrees with the whole program's values."""
    add_rule("points_per_currency", {"points_per_unit": "1"})
    for n, total in enumerate(("10.00", "25.00", "40.00")):
        push(order_paid(total, customer=f"c-{n}", order_id=f"o-{n}"))
    scheme_ = registry.tier_schemes[name]
    settings = scheme_.schema().load({})
    every = dict(session.execute(scheme_.qualifying_values(program, settings, clock.now())).all())
    some_ids = [member_id for member_id in every][:2]
    some = dict(session.execute(scheme_.qualifying_values(program, settings, clock.now(), member_ids=some_ids)).all())
    assert some == {member_id: every[member_id] for member_id in some_ids}
