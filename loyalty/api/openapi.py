"""What the OpenAPI document says beyond what flask-smorest writes by itself.

flask-smorest and apispec write the document from the views and schemas;
this module adds what they cannot know, in one place, so each view states
only what is its own:

* every operation answers 401 (no valid key) and 403 (key without the
  scope), and every one with a body 400 (a body that cannot be a request)
  and 413 (too large): documented on each, not only under ``default``;
* operations that take an ``Idempotency-Key`` say that a replay carries
  ``Idempotent-Replayed: true``;
* :class:`~loyalty.api.schemas.Choice` fields (closed sets of values) are
  one named enum component each, referenced wherever the set appears, so
  generated clients get one enum class and not one per use;
* :class:`~loyalty.api.schemas.DecimalString` fields are
  ``type: string, format: decimal``, as they are sent.

The document is OpenAPI 3.1, where a nullable nested object is
``anyOf: [{$ref}, {type: 'null'}]`` and keeps its reference (3.0's
``nullable`` beside a ``$ref`` is ignored, so apispec wrote a first branch
that accepted any object at all).
"""

from __future__ import annotations

from apispec import BasePlugin

from loyalty.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from loyalty.api.schemas import CHOICES, Choice, DecimalString

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

RESPONSES = {
    "Unauthorized": {
        "description": "No valid API key: send `Authorization: Bearer lk_…` (code `unauthorized`).",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": ERROR,
    },
    "Forbidden": {
        "description": "The API key lacks the scope this needs: `read` for reads, `write` for writes "
        "(code `insufficient_scope`).",
        "content": ERROR,
    },
    "BadBody": {
        "description": "The body cannot be a request: not JSON, nested more than 32 levels, or holding a string "
        "with an unpaired surrogate (code `bad_request`). Nothing was done.",
        "content": ERROR,
    },
    "TooLarge": {
        "description": "The body is larger than the API takes (1 MiB unless configured; code `too_large`). "
        "Nothing was done.",
        "content": ERROR,
    },
}

REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key "
    "(nothing was done again).",
    "schema": {"type": "string", "enum": ["true"]},
}


class DocumentPlugin(BasePlugin):
    """An apispec plugin: the per-operation additions above (and ``always``: more statuses every operation
    answers, by status, as the names of response components)."""

    def __init__(self, always: dict[str, str] | None = None):
        super().__init__()
        self.always = {"401": "Unauthorized", "403": "Forbidden", **(always or {})}

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            public = operation.get("security") == []  # no credentials: nothing to refuse, nobody to count
            for status, component in self.always.items():
                if not (public and status in ("401", "429")):
                    responses.setdefault(status, component)
            if "requestBody" in operation:  # what loyalty.api.parsing refuses before any field is read
                responses.setdefault("400", "BadBody")
                responses.setdefault("413", "TooLarge")
            if any(p.get("name") == IDEMPOTENCY_HEADER for p in operation.get("parameters", []) if isinstance(p, dict)):
                for status, response in responses.items():
                    if str(status).startswith(("2", "5")) and isinstance(response, dict):
                        response.setdefault("headers", {})["Idempotent-Replayed"] = REPLAYED


def choice_reference(self, field, ret, **kwargs) -> dict:
    """A marshmallow-plugin attribute function: a :class:`Choice` becomes a reference to its enum."""
    if not isinstance(field, Choice):
        return {}
    ret.pop("type", None)
    ret.pop("enum", None)
    # Registered on first use, so each document (the store's API, the member API) has only the enums it uses.
    if field.component not in self.spec.components.schemas:
        self.spec.components.schema(field.component, {"type": "string", "enum": list(CHOICES[field.component])})
    reference = {"$ref": f"#/components/schemas/{field.component}"}
    # A nullable choice (a reward's unavailable_reason) is the enum or null, as nullable nested objects are.
    return {"anyOf": [reference, {"type": "null"}]} if field.allow_none else reference


def document(api, *, responses: dict | None = None) -> None:
    """Teach ``api``'s spec the above (with :class:`DocumentPlugin` among its ``extra_plugins``);
    call before any blueprint is registered. ``responses`` replaces some of :data:`RESPONSES`
    (the member API's 401 and 403 are about member tokens, not API keys)."""
    spec = api.spec
    api.register_field(DecimalString, "string", "decimal")
    api.ma_plugin.converter.add_attribute_function(choice_reference)
    for name, response in {**RESPONSES, **(responses or {})}.items():
        spec.components.response(name, response)
