"""Property-based: schemathesis drives every API operation from the OpenAPI document.

It generates requests from the document's own schemas and checks every
answer with its response-conformance checks: never a server error, a
status code the operation declares, a declared content type, declared
headers, a body that validates against the declared schema, and schema-valid
requests accepted (:data:`tests.helpers.schemathesis_run.CHECKS`). So a document that drifts from the
responses fails here, in CI.

It runs against the app in process, authenticated, on a program with a
member with points and a tier (with its progress), rewards (one priced in
steps), a redemption and its code: about half the
cases name those (the member's external id, the reward, the redemption,
the code, the referral code) so that answers are real 2xx and 409s rather
than 404s, and each operation must have answered 2xx at least once.
``loyalty verify`` runs after it like after every test.

(schemathesis's own pytest plugin does not run under pytest 9 yet, so the
test draws each operation's cases with hypothesis directly.)
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.access.api_keys import create_key
from loyalty.ledger import Ledger
from loyalty.programs.members import enrol
from loyalty.referrals import set_terms
from loyalty.rewards import add_reward, redeem
from tests.helpers.schemathesis_run import CHECKS, EXAMPLES, config


@pytest.fixture
def data(session, program, clock, add_rule, registry):
    add_rule("custom_event", {"event_name": "review_written", "points": 10}, name="Reviews")
    member, _ = enrol(session, program, external_id="c-1", clock=clock)
    Ledger(session, clock).earn(member, 1_000_000, key="seed")
    set_terms(program, registry, referrer_points=100, friend_points=50)
    reward = add_reward(
        session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock
    )
    add_reward(
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
    redemption = redeem(session, program, member, reward.id, key="seed", clock=clock, registry=registry)
    secret = create_key(session, program, name="schemathesis", clock=clock).secret
    session.commit()
    return {
        "headers": {"Authorization": f"Bearer {secret}"},
        "path": {"external_id": "c-1", "redemption_id": redemption.id, "code": redemption.code},
        "body": {"reward_id": reward.id, "code": member.referral_code},
    }


def aim_at_the_data(case, data) -> None:
    """Point a generated case at the program's real member, reward, redemption and codes."""
    for name, value in data["path"].items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    if isinstance(case.body, dict):
        for name, value in data["body"].items():
            if name in case.body:
                case.body[name] = value
    if case.query and "member" in case.query:
        case.query["member"] = "c-1"
    if case.body is not None and case.headers and "Idempotency-Key" in case.headers:
        # Generated keys are short and repeat ("0", "00"…): a repeat with another body is a 409, by design.
        # An aimed case gets a key of its own, so each operation is seen to succeed, not only to refuse.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(case.body, dict) and case.body.get("reward_id") == data["body"]["reward_id"]:
        case.body.pop("points", None)  # the aimed reward is priced fixed: points would be a 422


def test_the_api_keeps_its_document(app, session, data):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13
    for operation in operations:
        statuses = Counter()

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(), aimed=st.booleans())
        def check(case, aimed):
            session.commit()  # the app's requests run on their own connections
            if aimed:
                aim_at_the_data(case, data)
            response = case.call_and_validate(headers=data["headers"], checks=CHECKS)
            statuses[response.status_code] += 1

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
        assert any(200 <= status < 300 for status in statuses), (operation.path, statuses)


def test_the_checks_catch_a_document_that_drifts(app, data):
    """The document as it was (decimals declared numbers, sent as strings): the conformance checks fail."""
    document = app.test_client().get("/api/v1/openapi.json").json
    document["components"]["schemas"]["Reward"]["properties"]["step_value"] = {"type": ["number", "null"]}
    operation = schemathesis.openapi.from_dict(document)["/api/v1/rewards"]["GET"]
    case = operation.Case(query={})
    with pytest.raises(BaseException) as caught:  # (a FailureGroup is a BaseExceptionGroup)
        case.call_and_validate(app=app, headers=data["headers"], checks=CHECKS)
    failures = [str(failure) for failure in getattr(caught.value, "exceptions", [caught.value])]
    assert any("Response violates schema" in failure and "step_value" in failure for failure in failures), failures
