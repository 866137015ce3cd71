"""Property-based: schemathesis drives every member API operation from ``/member/v1/openapi.json``.

As ``tests/test_api_schema.py`` does for the store's API: requests
generated from the document's own schemas, every answer checked by
schemathesis's response-conformance checks (no server error, a declared
status, content type and headers, a body the declared schema accepts,
schema-valid requests accepted). The shopper is a member with points,
a tier and its progress, points that expire, a redemption; the program has
ways to earn, tiers, referral terms and rewards (one priced in steps).
About half the cases are aimed at that program and its rewards, with a
valid member token, so that answers are real 2xx and 409s rather than
404s (an unknown program) or 401s; each operation must answer 2xx at
least once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.referrals import set_terms
from loyalty.rewards import add_reward, redeem
from loyalty.tiers.levels import set_member_tier
from loyalty.widget.settings import enable
from loyalty.widget.tokens import make_jwt
from tests.helpers.schemathesis_run import CHECKS, EXAMPLES, config


@pytest.fixture
def shopper(app, session, program, clock, registry, add_rule, member_factory, ledger):
    """A program whose widget is on, and a member token for its member ``c-1``."""
    app.config["MEMBER_RATE_LIMIT"] = "100000 per minute"  # hundreds of requests in a few seconds, by design
    secret = enable(session, program, origins=["https://shop.example"], clock=clock)
    add_rule("points_per_currency", {"points_per_unit": "1"}, name="Base rate")
    add_rule("custom_event", {"event_name": "review_written", "points": 10}, name="Reviews")
    member = member_factory("c-1", email="ann@example.com")
    ledger.earn(member, 1_000_000, key="seed", expires_at=clock.now() + timedelta(days=90))
    set_terms(program, registry, referrer_points=100, friend_points=50)
    from loyalty.tiers.levels import add_tier, set_scheme

    set_scheme(session, program, registry, "points_earned", {"window": "calendar_year"})
    silver = add_tier(session, program, name="Silver", rank=1, threshold="100", earn_multiplier="1", clock=clock)
    add_tier(session, program, name="Gold", rank=2, threshold="5000000", earn_multiplier="1.5", clock=clock)
    for_gold = add_reward(
        session, program, registry, type="free_shipping_code", name="Gold gift", points=10, min_tier="Gold", clock=clock
    )
    too_dear = add_reward(
        session, program, registry, type="free_shipping_code", name="Trip", points=2_000_000, clock=clock
    )
    set_member_tier(session, member, silver, clock=clock, registry=registry)
    reward = add_reward(
        session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock
    )
    credit = add_reward(
        session,
        program,
        registry,
        type="store_credit",
        name="Credit",
        points=100,
        config={},
        step_value="1.00",
        max_points=2_000,
        clock=clock,
    )
    redeem(session, program, member, reward.id, key="seed", clock=clock, registry=registry)
    session.commit()
    token = make_jwt(secret, "c-1", clock=clock, lifetime=timedelta(hours=24))
    return {
        "headers": {"Authorization": f"Bearer {token}"},
        "rewards": {
            "fixed": reward.id,
            "steps": credit.id,
            "unavailable": for_gold.id,  # 409 reward_unavailable, reason "tier"
            "unaffordable": too_dear.id,  # 409 insufficient_points
        },
    }


def aim(case, shopper, pricing: str) -> None:
    """Point a generated case at the program, one of its rewards (by price, or why it cannot be had), and a fresh
    Idempotency-Key."""
    if case.path_parameters and "program" in case.path_parameters:
        case.path_parameters["program"] = "acme"
    if isinstance(case.body, dict) and "reward_id" in case.body:
        case.body["reward_id"] = shopper["rewards"][pricing]
        if pricing != "steps":
            case.body.pop("points", None)  # points would be a 422: a fixed price takes none
    if case.headers and "Idempotency-Key" in case.headers:
        # Generated keys repeat ("0", "00"…): a repeat with another body is a 409, by design.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex


def test_the_member_api_keeps_its_document(app, session, shopper):
    schema = schemathesis.openapi.from_wsgi("/member/v1/openapi.json", app, config=config())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:
        statuses = Counter()

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(
            case=operation.as_strategy(), aimed=st.sampled_from([None, "fixed", "steps", "unavailable", "unaffordable"])
        )
        def check(case, aimed):
            session.commit()  # the app's requests run on their own connections
            if aimed:
                aim(case, shopper, aimed)
            response = case.call_and_validate(headers=shopper["headers"], checks=CHECKS)
            statuses[response.status_code] += 1

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
        assert any(200 <= status < 300 for status in statuses), (operation.path, statuses)
