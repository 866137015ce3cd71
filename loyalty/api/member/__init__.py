"""The member API, for shoppers' browsers: ``/member/v1/<program>/``, and the widget script that calls it.

The store's own server uses the REST API (:mod:`loyalty.api`) with an API
key that can do anything in the program; a shopper's browser gets none of
that. Here every request is about one member, the one the store's member
token names (:mod:`loyalty.api.member.context`), who can read only their
own balances, activity and rewards and spend only their own points. The
answers are shaped for the widget and carry no staff-only detail (the
ledger's reasons, reward types' internals, other members).

Built like the REST API (flask-smorest, the same errors, body parser and
``Idempotency-Key``), with its own OpenAPI document at
``/member/v1/openapi.json``.
"""

from __future__ import annotations

from loyalty.api.errors import LoyaltyApi
from loyalty.api.member import catalog, profile, program, script
from loyalty.api.openapi import DocumentPlugin, document

PREFIX = "/member/v1"

OPENAPI = {
    "MEMBER_API_TITLE": "Loyalty platform member API",
    "MEMBER_API_VERSION": "v1",
    "MEMBER_OPENAPI_VERSION": "3.1.0",
    "MEMBER_OPENAPI_URL_PREFIX": PREFIX,
    "MEMBER_OPENAPI_JSON_PATH": "openapi.json",
}

DESCRIPTION = """\
What a program's shoppers see and do from the store's pages (the storefront widget uses it). Every call but
`GET /{program}/program` needs a member token the store made: `Authorization: Bearer <token>`, a JWT (HS256,
signed with the program's widget secret; `sub` the customer's id, `exp` at most 24 hours after `iat`) or the
digest form `hmac.<base64url id>.<timestamp>.<hex digest>`. Browsers may call it only from the origins the
program allows (CORS). Errors are JSON: `{"code": "...", "message": "..."}`.
"""

RESPONSES = {
    "Unauthorized": {
        "description": "No valid member token: missing, expired, or not signed with this program's widget secret "
        "(code `invalid_member_token`). Nothing was done.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "NoProgram": {
        "description": "No such program, or it never enabled its widget (code `unknown_program`); for a member's "
        "call, also a customer who is not a member where members join only through an order (code `not_a_member`), "
        "or an unknown reward (code `unknown_reward`).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "RateLimited": {
        "description": "Too many requests by this member (code `rate_limited`): wait `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "Forbidden": {
        "description": "The store switched its widget off (code `widget_disabled`). Nothing was done.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
}


def init_app(app) -> None:
    for name, value in OPENAPI.items():
        app.config.setdefault(name, value)
    app.config.setdefault("MEMBER_RATE_LIMIT", "120 per minute")
    api = LoyaltyApi(
        app,
        config_prefix="MEMBER",
        spec_kwargs={
            "info": {"description": DESCRIPTION},
            "security": [{"memberToken": []}],
            "extra_plugins": [DocumentPlugin(always={"404": "NoProgram", "429": "RateLimited"})],
        },
    )
    document(api, responses=RESPONSES)
    api.spec.components.security_scheme("memberToken", {"type": "http", "scheme": "bearer"})
    for module in (program, profile, catalog):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    app.extensions["loyalty_member_api"] = api
    app.register_blueprint(script.blueprint)
