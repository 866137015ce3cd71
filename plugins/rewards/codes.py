"""Discount-code rewards: the platform makes an unguessable code (or takes one from an imported pool).

The store honours the code: create the same codes in the store (import the
pool's codes, or have a headless shop check a code with ``GET
/api/v1/codes/<code>``). An order that carries the code marks the
redemption used. Types: fixed amount off, percentage off, free shipping,
a free product, store credit.
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import fields, validate

from loyalty.plugin_api import Issued, RewardConfigSchema, RewardType, errors, hookimpl


class AmountSchema(RewardConfigSchema):
    amount = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "Money off (fixed price); a variable reward's amount is its steps."},
    )
    min_order = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "The smallest order the code applies to (for the store)."},
    )


class CodeReward(RewardType):
    """A generated or pooled code; ``details`` says what it is worth for the store."""

    kind = ""

    def issue(self, redemption, config):
        details = {"kind": self.kind, **self.terms(redemption, config)}
        return Issued(redemption.new_code(), details, redemption.expiry(config))

    def terms(self, redemption, config) -> dict:
        return {}


class AmountOff(CodeReward):
    variable = True

    def terms(self, redemption, config):
        amount = redemption.value if redemption.value is not None else Decimal(config["amount"])
        terms = {"amount": str(amount), "currency": redemption.currency}
        if config.get("min_order") is not None:
            terms["min_order"] = str(config["min_order"])
        return terms

    def check_pricing(self, config, pricing):
        if pricing == "fixed" and config.get("amount") is None:
            raise errors.InvalidInput(f"a fixed-price {self.name} reward needs an amount in its config")
        if pricing == "variable" and config.get("amount") is not None:
            raise errors.InvalidInput(f"a variable {self.name} reward's amount is its steps: leave amount out")

    def describe(self, config, currency):
        return (
            f"{config['amount']} {currency} {self.noun}"
            if config.get("amount")
            else f"{currency} {self.noun}, in steps"
        )


class FixedAmountCode(AmountOff):
    name = "fixed_amount_code"
    title = "Fixed amount discount code"
    description = "A code for an amount off an order (fixed, or chosen in steps: 100 points = 1.00 off)."
    schema = AmountSchema
    kind = "amount_off"
    noun = "off"


class StoreCredit(AmountOff):
    name = "store_credit"
    title = "Store credit"
    description = "A credit code for an amount the member can spend on anything, shipping and tax included."
    schema = AmountSchema
    kind = "store_credit"
    noun = "store credit"


class PercentageSchema(RewardConfigSchema):
    percent = fields.Decimal(
        as_string=True,
        required=True,
        validate=validate.Range(min=0, max=100, min_inclusive=False),
        metadata={"description": "Per cent off the order, e.g. 15."},
    )
    min_order = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "The smallest order the code applies to (for the store)."},
    )


class PercentageCode(CodeReward):
    name = "percentage_code"
    title = "Percentage discount code"
    description = "A code for a percentage off an order."
    schema = PercentageSchema
    kind = "percent_off"

    def terms(self, redemption, config):
        return {
            "percent": str(config["percent"]),
            **({"min_order": str(config["min_order"])} if config.get("min_order") is not None else {}),
        }

    def describe(self, config, currency):
        return f"{config['percent']}% off"


class FreeShippingSchema(RewardConfigSchema):
    max_shipping = fields.Decimal(
        as_string=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "Shipping covered up to this amount (none: all)."},
    )


class FreeShippingCode(CodeReward):
    name = "free_shipping_code"
    title = "Free shipping code"
    description = "A code for free shipping on an order."
    schema = FreeShippingSchema
    kind = "free_shipping"

    def terms(self, redemption, config):
        return {"max_shipping": str(config["max_shipping"])} if config.get("max_shipping") is not None else {}

    def describe(self, config, currency):
        return "free shipping"


class FreeProductSchema(RewardConfigSchema):
    product_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    sku = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The product, as the member sees it."},
    )


class FreeProduct(CodeReward):
    name = "free_product"
    title = "Free product"
    description = "A code for a product at no charge."
    schema = FreeProductSchema
    kind = "free_product"

    def terms(self, redemption, config):
        return {key: config[key] for key in ("product_id", "sku", "title") if config.get(key)}

    def describe(self, config, currency):
        return f"a free {config['title']}"


@hookimpl
def register_reward_types(register):
    for kind in (FixedAmountCode(), PercentageCode(), FreeShippingCode(), FreeProduct(), StoreCredit()):
        register(kind)
