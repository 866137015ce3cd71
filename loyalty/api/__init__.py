"""The REST API for storefronts and headless shops: ``/api/v1``.

flask-smorest builds it: each resource is a flask-smorest blueprint in
``v1/`` whose request and response bodies are marshmallow schemas in
``schemas/``, and the same decorators that validate and serialize also
write the OpenAPI document (``/api/v1/openapi.json``, browsable at
``/api/v1/docs``: :mod:`loyalty.api.docs`), so the document cannot drift from the code.

Every request carries a program's API key (``Authorization: Bearer lk_…``,
see :mod:`loyalty.api.auth`); errors are JSON with a stable ``code``
(:mod:`loyalty.api.errors`); writes that move points replay on an
``Idempotency-Key`` (:mod:`loyalty.api.idempotency`).
"""

from __future__ import annotations

from loyalty.api import (
    docs,  # Swagger UI at /api/v1/docs, from a package rather than a CDN
    event_payloads,
)
from loyalty.api.errors import LoyaltyApi
from loyalty.api.external_ids import EncodedSlashes, ExternalIdConverter, MemberConverter, external_id_schema
from loyalty.api.openapi import DocumentPlugin, document
from loyalty.api.v1 import events, members, referrals, rewards  # (their schemas declare the enums)

PREFIX = "/api/v1"

OPENAPI = {
    "API_TITLE": "Loyalty platform API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
}

DESCRIPTION = """\
Members, balances, history, adjustments, custom events, referrals, the
reward catalog and redemptions of one loyalty program. Authenticate with the program's API key: `Authorization: Bearer
lk_…` (create one with `loyalty api-keys create`). Errors are JSON:
`{"code": "...", "message": "...", "errors": {...}}`, where `code` is
stable and `errors` lists field errors of a validation failure. Writes that
move points accept an `Idempotency-Key` header: the same key with the same
body answers the first response again; with another body, 409.
"""


def init_app(app) -> None:
    for name, value in OPENAPI.items():
        app.config.setdefault(name, value)
    api = LoyaltyApi(
        app,
        spec_kwargs={
            "info": {"description": DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "extra_plugins": [DocumentPlugin()],
        },
    )
    document(api)
    event_payloads.describe(api.spec)  # the outbox's events, as the document's webhooks
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    app.url_map.converters["external_id"] = ExternalIdConverter
    app.url_map.converters["member"] = MemberConverter
    api.register_converter(ExternalIdConverter, external_id_schema)
    api.register_converter(MemberConverter, external_id_schema)
    app.wsgi_app = EncodedSlashes(app.wsgi_app, prefix=f"{PREFIX}/members/")
    for module in (members, events, referrals, rewards):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    app.extensions["loyalty_api"] = api
    app.register_blueprint(docs.blueprint(PREFIX, api))
