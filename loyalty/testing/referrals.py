"""The kit for referrals and referral checks: set the program's terms, refer a friend.

A referral check's test: set the terms (``checks={"my_check": {...}}`` for
its settings), refer a friend with ``loyalty_refer`` and read the
referral's ``status`` (``pending``, ``rejected``, ``flagged``) and
``reason``; the checks run again when the friend's order comes
(``loyalty_push(order_paid(..., customer=friend))``).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def loyalty_referral_terms(loyalty_session, loyalty_program, loyalty_registry):
    """``loyalty_referral_terms(referrer_points=500, checks={"velocity": {"action": "flag"}})`` → the terms.

    Changes only what is given, as ``loyalty referrals terms`` does;
    referrals are enabled by default. Invalid terms raise ``InvalidInput``.
    """
    from loyalty.referrals.terms import set_terms

    def change(*, program=None, **changes):
        terms = set_terms(program or loyalty_program, loyalty_registry, **changes)
        loyalty_session.commit()
        return terms

    return change


@pytest.fixture
def loyalty_refer(loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_refer(referrer, "friend-1", friend_email=..., ip=...)`` attributes a friend to ``referrer`` → the referral.

    As the API's ``POST /referrals`` does: the checks run at once, so a
    check that stops the referral leaves it ``rejected`` or ``flagged``
    with the check's reason.
    """
    from loyalty.referrals.attribution import attribute

    def refer(
        referrer, friend_external_id: str, *, friend_email: str | None = None, ip: str | None = None, program=None
    ):
        referral, _ = attribute(
            loyalty_session,
            program or loyalty_program,
            code=referrer.referral_code,
            friend_external_id=friend_external_id,
            friend_email=friend_email,
            ip=ip,
            registry=loyalty_registry,
            clock=loyalty_clock,
        )
        loyalty_session.commit()
        return referral

    return refer
