"""The OpenAPI document says what the API does, in a form that validators and client generators can use.

(schemathesis, in ``test_api_schema.py``, checks real answers against it;
``test_api_client.py`` generates a client from it and uses it.)
"""

from __future__ import annotations

import json

import pytest

API = "/api/v1"

OPERATIONS = {
    ("post", "/members"): "enrolMember",
    ("get", "/members/{external_id}"): "getMember",
    ("patch", "/members/{external_id}"): "updateMember",
    ("get", "/members/{external_id}/transactions"): "listTransactions",
    ("post", "/members/{external_id}/adjustments"): "createAdjustment",
    ("post", "/events"): "createEvent",
    ("post", "/referrals"): "createReferral",
    ("get", "/members/{external_id}/referrals"): "listReferrals",
    ("get", "/rewards"): "listRewards",
    ("post", "/members/{external_id}/redemptions"): "createRedemption",
    ("get", "/members/{external_id}/redemptions"): "listRedemptions",
    ("post", "/members/{external_id}/redemptions/{redemption_id}/cancel"): "cancelRedemption",
    ("get", "/codes/{code}"): "getCode",
}

IDEMPOTENT = {
    ("post", "/members"),
    ("post", "/members/{external_id}/adjustments"),
    ("post", "/events"),
    ("post", "/referrals"),
    ("post", "/members/{external_id}/redemptions"),
    ("post", "/members/{external_id}/redemptions/{redemption_id}/cancel"),
}


@pytest.fixture
def spec(app):
    return app.test_client().get(f"{API}/openapi.json").json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path.removeprefix(API), operation


def test_every_operation_has_a_stable_unique_operation_id(spec):
    found = {(method, path): operation.get("operationId") for method, path, operation in operations(spec)}
    assert found == OPERATIONS
    assert len(set(found.values())) == len(found)


@pytest.mark.parametrize(
    "schema, field",
    [
        ("Tier", "earn_multiplier"),
        ("NextTier", "threshold"),
        ("NextTier", "remaining"),
        ("KeepTier", "threshold"),
        ("TierProgress", "value"),
        ("Reward", "step_value"),
        ("Redemption", "value"),
        ("Code", "value"),
    ],
)
def test_decimals_are_strings_as_sent(spec, schema, field):
    prop = spec["components"]["schemas"][schema]["properties"][field]
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    assert "string" in types and "number" not in types and prop["format"] == "decimal", prop


def test_no_decimal_is_left_a_number(spec):
    text = json.dumps(spec)
    assert '"format": "decimal"' in text
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("type") != "number", (name, field)


def test_nullable_nested_objects_keep_their_reference(spec):
    text = json.dumps(spec)
    assert '{"type": "object", "nullable": true}' not in text
    member = spec["components"]["schemas"]["Member"]["properties"]
    assert member["tier"]["anyOf"] == [{"$ref": "#/components/schemas/Tier"}, {"type": "null"}]
    assert member["tier_progress"]["anyOf"] == [{"$ref": "#/components/schemas/TierProgress"}, {"type": "null"}]


def test_401_and_403_are_documented_on_every_operation(spec):
    for method, path, operation in operations(spec):
        for status in ("401", "403"):
            assert status in operation["responses"], (method, path, status)
    components = spec["components"]["responses"]
    for name in ("Unauthorized", "Forbidden"):
        assert components[name]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_idempotent_operations_document_the_key_and_the_replay_header(spec):
    for method, path, operation in operations(spec):
        takes_key = any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
        assert takes_key == ((method, path) in IDEMPOTENT), (method, path)
        if takes_key:
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    assert "Idempotent-Replayed" in response.get("headers", {}), (method, path, status)


def test_no_unused_components(spec):
    text = json.dumps(spec["paths"]) + json.dumps(spec["components"]["responses"]) + json.dumps(spec["webhooks"])
    schemas = spec["components"]["schemas"]
    text += json.dumps(schemas)
    assert "PaginationMetadata" not in schemas
    for name in schemas:
        assert f'"#/components/schemas/{name}"' in text, name


@pytest.mark.parametrize(
    "component, values",
    [
        ("RedemptionStatus", ["issued", "used", "cancelled", "failed"]),
        ("ReferralStatus", ["pending", "flagged", "converted", "rewarded", "rejected", "cancelled"]),
        ("MemberStatus", ["active", "suspended", "closed"]),
        ("EntryKind", ["earn", "release", "redeem", "expire", "adjust", "reverse"]),
        ("Pricing", ["fixed", "variable"]),
    ],
)
def test_closed_sets_are_named_enums(spec, component, values):
    assert spec["components"]["schemas"][component] == {"type": "string", "enum": values}


@pytest.mark.parametrize(
    "schema, field, component",
    [
        ("Redemption", "status", "RedemptionStatus"),
        ("Referral", "status", "ReferralStatus"),
        ("Member", "status", "MemberStatus"),
        ("Transaction", "kind", "EntryKind"),
        ("Posting", "kind", "EntryKind"),
        ("Reward", "pricing", "Pricing"),
    ],
)
def test_fields_use_the_named_enums(spec, schema, field, component):
    assert spec["components"]["schemas"][schema]["properties"][field]["$ref"] == f"#/components/schemas/{component}"


def test_query_enums_are_one_component_and_never_null(spec):
    for _method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                text = json.dumps(parameter["schema"])
                assert "null" not in text, (path, parameter)
                if parameter["name"] == "status":
                    assert parameter["schema"]["$ref"].endswith("Status"), (path, parameter)
