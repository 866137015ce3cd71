"""The events' payloads in the store API's OpenAPI document: its ``webhooks`` section (OpenAPI 3.1).

One webhook per event type (``loyalty.messages.catalog.EVENT_TYPES``),
whose request body is the type's payload, a schema ``Event<Type>`` under
``components/schemas`` (``EventPointsEarned`` for ``points.earned``), so a
receiver can generate its types as a client generates the API's.

The schemas are written here, not derived from code: events are built in
several places (:mod:`loyalty.ledger.events`, the rewards', referrals' and
tiers' sites). ``tests/test_messages_events.py`` keeps them true: each real
payload of a test program validates against its schema, and each schema
has exactly the fields of ``docs/events.md``'s example.
"""

from __future__ import annotations

from loyalty.messages.catalog import EVENT_TYPES


def _nullable(schema: dict) -> dict:
    if "type" in schema and set(schema) <= {"type", "format", "description"}:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _object(**properties) -> dict:
    return {"type": "object", "required": list(properties), "properties": properties}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DATE = {"type": "string", "format": "date-time"}
DECIMAL = {"type": "string", "format": "decimal"}
MEMBER = _object(external_id=STRING, email=_nullable(STRING), name=_nullable(STRING))
SOURCE = _nullable(_object(type=STRING, id=STRING))
TIER = _nullable(_object(id=INTEGER, name=STRING))
POINTS = {"type": "integer", "minimum": 0}
BALANCE = {**INTEGER, "description": "The member's available balance just after the change."}

_FROM_LOT = dict(
    points=POINTS,
    entry_id=INTEGER,
    reason=_nullable(STRING),
    source=SOURCE,
    lot_id=INTEGER,
    expires_at=_nullable(DATE),
    balance=BALANCE,
)
_REDEMPTION = dict(
    redemption_id=INTEGER,
    reward=_object(id=INTEGER, name=STRING, type=STRING),
    points=POINTS,
    code=_nullable(STRING),
    value=_nullable(DECIMAL),
    currency=STRING,
    details={"type": "object", "description": "What the reward type issued (its own fields)."},
    expires_at=_nullable(DATE),
    entry_id=_nullable(INTEGER),
)
_REFERRAL = dict(
    referral_id=INTEGER,
    referrer=_object(external_id=STRING),
    friend=_object(external_id=STRING),
    order_id=_nullable(STRING),
    referrer_points=POINTS,
    friend_points=POINTS,
    reason=_nullable(STRING),
)

#: Each type's ``data`` fields beside ``member``.
DATA: dict[str, dict] = {
    "member.enrolled": dict(enrolled_at=DATE, referral_code=STRING),
    "points.earned": dict(
        entry_id=INTEGER,
        points=POINTS,
        status={"type": "string", "enum": ["pending", "available"]},
        reason=_nullable(STRING),
        source=SOURCE,
        cause=_nullable({"type": "object", "required": ["type"], "properties": {"type": STRING}}),
        release_at=_nullable(DATE),
        expires_at=_nullable(DATE),
    ),
    "points.released": _FROM_LOT,
    "points.redeemed": dict(
        points=POINTS,
        entry_id=INTEGER,
        reason=_nullable(STRING),
        source=SOURCE,
        cause=_nullable(
            _object(
                type={"type": "string", "enum": ["reward"]}, reward_id=INTEGER, reward=STRING, redemption_id=INTEGER
            )
        ),
        balance=BALANCE,
    ),
    "points.adjusted": dict(
        points={**INTEGER, "description": "Signed: negative for points taken."},
        entry_id=INTEGER,
        reason=STRING,
        source=SOURCE,
        actor=STRING,
        expires_at=_nullable(DATE),
        balance=BALANCE,
    ),
    "points.reversed": dict(
        points=POINTS,
        entry_id=INTEGER,
        reason=_nullable(STRING),
        source=SOURCE,
        reversed_entry_id=INTEGER,
        reversed_kind={"type": "string", "enum": ["earn", "adjust", "redeem", "expire"]},
        shortfall=POINTS,
        balance=BALANCE,
    ),
    "points.expired": _FROM_LOT,
    "points.expiring": dict(points=POINTS, date={"type": "string", "format": "date"}, expires_at=DATE),
    "tier.changed": dict(
        **{"from": TIER, "to": TIER},
        direction={"type": "string", "enum": ["up", "down"]},
        reason={"type": "string", "enum": ["upgrade", "downgrade", "manual"]},
        qualifying_value=_nullable(DECIMAL),
    ),
    "reward.redeemed": _REDEMPTION,
    "reward.cancelled": _REDEMPTION,
    "referral.completed": _REFERRAL,
    "referral.flagged": _REFERRAL,
}


def component_name(type: str) -> str:
    """``points.earned`` → ``EventPointsEarned``."""
    return "Event" + "".join(part.capitalize() for part in type.split("."))


def payload_schema(type: str) -> dict:
    """The whole payload of one type, self-contained (no references): the envelope and its ``data``."""
    return {
        **_object(
            id={"type": "string", "pattern": "^evt_[0-9a-f]+$", "description": "Unique; the same on every retry."},
            type={"type": "string", "enum": [type]},
            created_at=DATE,
            program={"type": "string", "description": "The program's slug."},
            data=_object(member=MEMBER, **DATA[type]),
        ),
        "description": EVENT_TYPES[type],
    }


def webhooks() -> dict:
    """The document's ``webhooks``: one POST per event type, its body the type's payload."""
    return {
        type: {
            "post": {
                "operationId": f"on{component_name(type).removeprefix('Event')}",
                "summary": description,
                "description": f"`{type}`: {description} See docs/events.md for when and what.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{component_name(type)}"}}
                    },
                },
                "responses": {"2XX": {"description": "Received. Any other answer, or none in 10 s, is retried."}},
            }
        }
        for type, description in EVENT_TYPES.items()
    }


def describe(spec) -> None:
    """Add the payload schemas and the ``webhooks`` section to an apispec ``APISpec`` (OpenAPI 3.1)."""
    for type in EVENT_TYPES:
        spec.components.schema(component_name(type), payload_schema(type))
    spec.options["webhooks"] = webhooks()
