"""A client generated from the OpenAPI document works, as a third party would generate and use it.

openapi-python-client writes a Python package from ``/api/v1/openapi.json``;
the test imports it and makes one round trip against ``loyalty serve``
(gunicorn, on a free local port): enrol a member whose external id has a
slash, read them back with their tier (``member.tier.name``, a real
``Tier`` class, not an empty one), adjust their points with an
Idempotency-Key and replay it. About 3 s: 1 s to generate, 2 s to start
gunicorn.
"""

from __future__ import annotations

import pytest

from loyalty.access.api_keys import create_key
from loyalty.programs.members import find_member
from loyalty.tiers.levels import add_tier, set_member_tier
from tests.helpers.generated_client import generated_client
from tests.helpers.live_server import gunicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def generated(app, tmp_path):
    """The generated package, importable as ``loyalty_client``."""
    with generated_client(app.test_client().get("/api/v1/openapi.json").json, tmp_path, "loyalty_client") as package:
        yield package


def test_a_generated_client_round_trip(generated, session, program, clock, database_url, tmp_path, registry):
    from loyalty_client import AuthenticatedClient
    from loyalty_client.api.members import create_adjustment, enrol_member, get_member
    from loyalty_client.models import Adjustment, Enrol, EntryKind, Member, MemberStatus, Posting, Tier

    gold = add_tier(session, program, name="Gold", rank=2, earn_multiplier="1.5", clock=clock)
    secret = create_key(session, program, name="generated", clock=clock).secret
    session.commit()
    with gunicorn(database_url, tmp_path) as base:
        client = AuthenticatedClient(base_url=base, token=secret)

        enrolled = enrol_member.sync_detailed(client=client, body=Enrol(external_id="a/b@example.com"))
        assert enrolled.status_code == 201 and isinstance(enrolled.parsed, Member), enrolled.content
        assert enrolled.parsed.tier is None and enrolled.parsed.status is MemberStatus.ACTIVE

        set_member_tier(session, find_member(session, program, "a/b@example.com"), gold, clock=clock, registry=registry)
        session.commit()
        member = get_member.sync(external_id="a/b@example.com", client=client)
        assert isinstance(member, Member) and isinstance(member.tier, Tier)
        assert member.tier.name == "Gold" and member.tier.earn_multiplier == "1.5"

        body = Adjustment(points=25, reason="Goodwill")
        first = create_adjustment.sync_detailed(
            external_id="a/b@example.com", client=client, body=body, idempotency_key="goodwill-1"
        )
        assert first.status_code == 201 and isinstance(first.parsed, Posting), first.content
        assert first.parsed.kind is EntryKind.ADJUST and first.parsed.balances.available == 25
        again = create_adjustment.sync_detailed(
            external_id="a/b@example.com", client=client, body=body, idempotency_key="goodwill-1"
        )
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.parsed.entry_id == first.parsed.entry_id
        assert get_member.sync(external_id="a/b@example.com", client=client).balances.available == 25
