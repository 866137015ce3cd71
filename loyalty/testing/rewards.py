"""The kit for rewards and redemptions: give a member points, add a reward of a type, redeem it."""

from __future__ import annotations

import itertools

import pytest

_keys = itertools.count(1)


@pytest.fixture
def loyalty_award(loyalty_session, loyalty_clock):
    """``loyalty_award(member, 500)`` posts points to the member, available at once → the ledger's receipt."""
    from loyalty.ledger import Ledger

    def award(member, points: int, *, key: str | None = None, reason: str | None = "test points"):
        receipt = Ledger(loyalty_session, loyalty_clock).earn(
            member, points, key=key or f"kit-award-{next(_keys)}", reason=reason
        )
        loyalty_session.commit()
        return receipt

    return award


@pytest.fixture
def loyalty_add_reward(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_add_reward("fixed_amount_code", points=500, config={"amount": "5.00"})`` → the catalog's reward.

    Any other keyword (``step_value``, ``min_points``, ``max_points`` for a
    variable price; ``stock``, ``limit_per_member``, ``min_tier``,
    ``starts_at``, ``ends_at``) is passed on as the admin and the CLI do;
    the type's schema validates ``config``.
    """
    from loyalty.rewards.catalog import add_reward

    def add(type: str, *, points: int, config: dict | None = None, name: str | None = None, program=None, **options):
        reward = add_reward(
            loyalty_session,
            program or loyalty_program,
            loyalty_registry,
            type=type,
            name=name or type,
            points=points,
            config=config,
            clock=loyalty_clock,
            **options,
        )
        loyalty_session.commit()
        return reward

    return add


@pytest.fixture
def loyalty_redeem(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock, loyalty_award):
    """``loyalty_redeem(member, reward)`` spends the member's points on it → the redemption.

    ``fund=True`` first gives the member the points it costs (``points``
    for a variable reward, else the reward's price), so a reward type's
    test needs no ledger set-up. The redemption is ``issued`` (the type's
    ``issue`` returned) or ``failed`` with ``reason`` (it raised
    ``RewardNotIssued``: no points were spent); refusals raise.
    """
    from loyalty.rewards.redeem import redeem

    def run(member, reward, *, points: int | None = None, key: str | None = None, fund: bool = False, program=None):
        if fund:
            loyalty_award(member, points or reward.points)
        redemption = redeem(
            loyalty_session,
            program or loyalty_program,
            member,
            reward.id,
            key=key or f"kit-redeem-{next(_keys)}",
            points=points,
            registry=loyalty_registry,
            clock=loyalty_clock,
        )
        loyalty_session.commit()
        return redemption

    return run
