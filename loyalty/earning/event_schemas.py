"""Marshmallow schemas for normalized events given as JSON (CLI, API).

``load_event({"type": "order_paid", ...})`` returns the event dataclass;
amounts are strings ("19.99") and timestamps ISO 8601 with a zone.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from loyalty import errors
from loyalty.earning import events
from loyalty.validation import invalid

_money = dict(as_string=True, allow_nan=False)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class CustomerSchema(_Strict):
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    email = fields.Email(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)
    birthday = fields.Date(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        return events.Customer(**data)


class LineSchema(_Strict):
    id = fields.String(required=True)
    title = fields.String(load_default="")
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=0))
    total = fields.Decimal(required=True, **_money)
    product_id = fields.String(load_default=None, allow_none=True)
    sku = fields.String(load_default=None, allow_none=True)
    categories = fields.List(fields.String(), load_default=list)

    @post_load
    def make(self, data, **kwargs):
        return events.Line(**{**data, "categories": tuple(data["categories"])})


class AddressSchema(_Strict):
    line1 = fields.String(load_default=None, allow_none=True)
    line2 = fields.String(load_default=None, allow_none=True)
    city = fields.String(load_default=None, allow_none=True)
    postcode = fields.String(load_default=None, allow_none=True)
    country = fields.String(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        return events.Address(**data)


class OrderPaidSchema(_Strict):
    type = fields.Constant("order_paid")
    order_id = fields.String(required=True)
    customer = fields.Nested(CustomerSchema, load_default=None, allow_none=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    subtotal = fields.Decimal(required=True, **_money)
    total = fields.Decimal(required=True, **_money)
    discount = fields.Decimal(load_default="0", **_money)
    tax = fields.Decimal(load_default="0", **_money)
    shipping = fields.Decimal(load_default="0", **_money)
    lines = fields.List(fields.Nested(LineSchema), load_default=list)
    discount_codes = fields.List(fields.String(), load_default=list)
    attributes = fields.Dict(load_default=dict)
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)
    origin = fields.String(load_default="api")
    referral_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    client_ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    shipping_address = fields.Nested(AddressSchema, load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        data.pop("type", None)
        code = data.pop("referral_code")
        referral = events.ReferralMark(code.strip(), "referral_code") if code and code.strip() else None
        return events.OrderPaid(
            **{
                **data,
                "lines": tuple(data["lines"]),
                "discount_codes": tuple(data["discount_codes"]),
                "referral": referral,
            }
        )


class OrderRefundedSchema(_Strict):
    type = fields.Constant("order_refunded")
    order_id = fields.String(required=True)
    refund_id = fields.String(required=True)
    amount = fields.Decimal(required=True, **_money)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        data.pop("type", None)
        return events.OrderRefunded(**data)


class OrderCancelledSchema(_Strict):
    type = fields.Constant("order_cancelled")
    order_id = fields.String(required=True)
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        data.pop("type", None)
        return events.OrderCancelled(**data)


class CustomerCreatedSchema(_Strict):
    type = fields.Constant("customer_created")
    customer = fields.Nested(CustomerSchema, required=True)
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        data.pop("type", None)
        return events.CustomerCreated(**data)


class CustomEventSchema(_Strict):
    type = fields.Constant("custom_event")
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    customer = fields.Nested(CustomerSchema, required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    properties = fields.Dict(load_default=dict)
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)

    @post_load
    def make(self, data, **kwargs):
        data.pop("type", None)
        return events.CustomEvent(**data)


SCHEMAS = {
    "order_paid": OrderPaidSchema,
    "order_refunded": OrderRefundedSchema,
    "order_cancelled": OrderCancelledSchema,
    "customer_created": CustomerCreatedSchema,
    "custom_event": CustomEventSchema,
}


def load_event(data) -> events.Event:
    """Parse one event; :class:`~loyalty.errors.InvalidInput` with field messages if it is wrong."""
    if not isinstance(data, dict):
        raise errors.InvalidInput("an event is a JSON object")
    kind = data.get("type")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise errors.InvalidInput(f"event type must be one of {', '.join(SCHEMAS)}; got {str(kind)[:100]!r}")
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise invalid(f"{kind} event", exc) from None
