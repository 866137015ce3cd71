"""Property-based: schemathesis drives every API operation from the OpenAPI document.

It generates requests from the document's own schemas and checks each
answer: never a server error, a status code, content type and body the
document declares. It runs against the app in process, with a key of a
program that has a member with points, so reads and writes reach real
data; ``loyalty verify`` runs after it like after every test.

(schemathesis's own pytest plugin does not run under pytest 9 yet, so the
test draws each operation's cases with hypothesis directly.)
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from loyalty.api_keys import create_key
from loyalty.ledger import Ledger
from loyalty.members import enrol
from loyalty.referrals import set_terms
from loyalty.rewards import add_reward

EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "40"))


@pytest.fixture
def api_key(session, program, clock, add_rule, registry):
    add_rule("custom_event", {"event_name": "review_written", "points": 10}, name="Reviews")
    member, _ = enrol(session, program, external_id="c-1", clock=clock)
    Ledger(session, clock).earn(member, 1_000, key="seed")
    set_terms(program, registry, referrer_points=100, friend_points=50)
    add_reward(session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock)
    secret = create_key(session, program, name="schemathesis", clock=clock).secret
    session.commit()
    return secret


def test_the_api_keeps_its_document(app, session, api_key):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            session.commit()  # the app's requests run on their own connections
            case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
