"""The kit for tiers and tier schemes: add a program's tiers, choose its scheme, recalculate.

A tier scheme's test is usually: add tiers with thresholds, set the
scheme with its settings, earn (``loyalty_push``) or post points
(``loyalty_award``), then ``loyalty_recalculate()`` and read
``member.tier``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def loyalty_add_tier(loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_add_tier("Gold", threshold="500", earn_multiplier="1.5")`` → the tier.

    ``rank`` defaults to one above the program's highest tier, so tiers
    added in order rank in order; ``keep_threshold`` and ``perks`` as the
    ``loyalty tiers add`` command takes them; ``program=`` another program.
    """
    from loyalty.tiers.levels import add_tier, list_tiers

    def add(
        name: str,
        *,
        threshold="0",
        earn_multiplier="1",
        rank: int | None = None,
        keep_threshold=None,
        perks: str | None = None,
        program=None,
    ):
        target = program or loyalty_program
        if rank is None:
            rank = max((tier.rank for tier in list_tiers(loyalty_session, target)), default=0) + 1
        tier = add_tier(
            loyalty_session,
            target,
            name=name,
            rank=rank,
            earn_multiplier=earn_multiplier,
            threshold=threshold,
            keep_threshold=keep_threshold,
            perks=perks,
            clock=loyalty_clock,
        )
        loyalty_session.commit()
        return tier

    return add


@pytest.fixture
def loyalty_set_scheme(loyalty_session, loyalty_program, loyalty_registry):
    """``loyalty_set_scheme("points_earned", {"window": "calendar_year"})``: the program's scheme (``None``: by hand).

    The settings are validated by the scheme's schema as the CLI and the
    admin do: invalid ones raise :class:`loyalty.errors.InvalidInput`.
    """
    from loyalty.tiers.levels import set_scheme

    def choose(name: str | None, settings: dict | None = None, *, program=None):
        set_scheme(loyalty_session, program or loyalty_program, loyalty_registry, name, settings)
        loyalty_session.commit()

    return choose


@pytest.fixture
def loyalty_recalculate(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_recalculate()`` runs the nightly recalculation now → its counts (``upgraded``, ``downgraded``, ...).

    ``member_ids=`` only those members; ``upgrades_only=True`` what an
    event does between nightly runs.
    """
    from loyalty.tiers.recalculate import recalculate

    def run(*, program=None, member_ids: list[int] | None = None, upgrades_only: bool = False):
        result = recalculate(
            loyalty_session,
            program or loyalty_program,
            registry=loyalty_registry,
            clock=loyalty_clock,
            member_ids=member_ids,
            upgrades_only=upgrades_only,
        )
        loyalty_session.commit()
        return result

    return run
