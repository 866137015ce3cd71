"""A client generated from the member API's OpenAPI document works, as a store's developer would use it.

openapi-python-client writes a Python package from
``/member/v1/openapi.json``; the test imports it and, against ``loyalty
serve`` (gunicorn, real clock) with a member token, reads the member,
lists the rewards (one the member cannot have, and says why), redeems
one with an Idempotency-Key and replays it, and reads the activity that
redemption wrote. The typed answers must be the classes the document
names (a nullable enum is that enum or ``None``, not a string).
"""

from __future__ import annotations

import pytest

from loyalty.clock import SystemClock
from loyalty.ledger import Ledger
from loyalty.programs.members import enrol
from loyalty.rewards import add_reward
from loyalty.widget.settings import enable
from loyalty.widget.tokens import make_jwt
from tests.helpers.generated_client import generated_client
from tests.helpers.live_server import gunicorn

pytestmark = pytest.mark.slow

PACKAGE = "loyalty_member_client"


@pytest.fixture
def generated(app, tmp_path):
    """The generated package, importable as ``loyalty_member_client``."""
    with generated_client(app.test_client().get("/member/v1/openapi.json").json, tmp_path, PACKAGE) as package:
        yield package


def test_a_generated_member_client_round_trip(generated, session, program, database_url, tmp_path, registry):
    from loyalty_member_client import AuthenticatedClient
    from loyalty_member_client.api.member_catalog import list_member_rewards, redeem_reward
    from loyalty_member_client.api.member_profile import get_me, list_activity
    from loyalty_member_client.models import (
        ActivityKind,
        ActivityPage,
        Me,
        MemberRedemption,
        MemberReward,
        Redeem,
        RedemptionStatus,
        UnavailableReason,
    )

    clock = SystemClock()  # the server runs on the real clock
    secret = enable(session, program, origins=["https://shop.example"], clock=clock)
    member, _ = enrol(session, program, external_id="cust-1", name="Ann", clock=clock)
    Ledger(session, clock).earn(member, 300, key="seed")
    shipping = add_reward(
        session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock
    )
    add_reward(session, program, registry, type="free_shipping_code", name="Trip", points=5_000, clock=clock)
    # Read before the commit: reading an expired attribute after it would open a transaction, and on SQLite
    # every transaction holds the write lock the server then waits for.
    referral_code, shipping_id = member.referral_code, shipping.id
    session.commit()
    token = make_jwt(secret, "cust-1", clock=clock)

    with gunicorn(database_url, tmp_path) as base:
        client = AuthenticatedClient(base_url=base, token=token)

        me = get_me.sync(program="acme", client=client)
        assert isinstance(me, Me), me
        assert (me.external_id, me.name, me.balances.available, me.joined_now) == ("cust-1", "Ann", 300, False)
        assert me.tier is None and me.next_expiry is None and me.referral.code == referral_code

        rewards = list_member_rewards.sync(program="acme", client=client)
        by_name = {reward.name: reward for reward in rewards}
        assert all(isinstance(reward, MemberReward) for reward in rewards)
        assert by_name["Free shipping"].available is True and by_name["Free shipping"].unavailable_reason is None
        assert by_name["Trip"].available is False and by_name["Trip"].points_needed == 4_700
        assert by_name["Trip"].unavailable_reason is UnavailableReason.NOT_ENOUGH_POINTS

        body = Redeem(reward_id=shipping_id)
        first = redeem_reward.sync_detailed(program="acme", client=client, body=body, idempotency_key="order-page-1")
        assert first.status_code == 201 and isinstance(first.parsed, MemberRedemption), first.content
        assert first.parsed.status is RedemptionStatus.ISSUED and first.parsed.points == 100 and first.parsed.code
        again = redeem_reward.sync_detailed(program="acme", client=client, body=body, idempotency_key="order-page-1")
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.parsed.id == first.parsed.id

        page = list_activity.sync(program="acme", client=client, limit=1)
        assert isinstance(page, ActivityPage) and len(page.data) == 1 and page.next_cursor
        assert page.data[0].kind is ActivityKind.REDEEMED and page.data[0].title == "Redeemed: Free shipping"
        assert page.data[0].points == -100
        rest = list_activity.sync(program="acme", client=client, cursor=page.next_cursor)
        assert [(line.kind, line.points) for line in rest.data] == [(ActivityKind.EARNED, 300)]
        assert rest.next_cursor is None
        assert get_me.sync(program="acme", client=client).balances.available == 200
