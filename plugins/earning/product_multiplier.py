"""Extra points on chosen products, SKUs or categories ("3x points on coffee")."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, base_rate_field, hookimpl


class ProductMultiplierConfig(RuleConfigSchema):
    skus = fields.List(fields.String(), load_default=list, metadata={"description": "SKUs that qualify."})
    product_ids = fields.List(fields.String(), load_default=list, metadata={"description": "Product ids."})
    categories = fields.List(fields.String(), load_default=list, metadata={"description": "Categories / collections."})
    multiplier = fields.Decimal(
        required=True,
        as_string=True,
        validate=validate.Range(min=1, min_inclusive=False),
        metadata={"description": "Total rate on matching lines, e.g. 3 for triple points."},
    )
    points_per_unit = base_rate_field()

    @validates_schema
    def _something_to_match(self, data, **kwargs):
        if not (data.get("skus") or data.get("product_ids") or data.get("categories")):
            raise ValidationError("name at least one SKU, product id or category", "skus")


class ProductMultiplier(EarningRuleType):
    name = "product_multiplier"
    title = "Product, SKU or category multiplier"
    description = (
        "Matching lines earn `multiplier` times the base rate: this rule awards the extra on top of the base rule."
    )
    events = ("order_paid",)
    schema = ProductMultiplierConfig

    def evaluate(self, context, config):
        skus, products, categories = set(config["skus"]), set(config["product_ids"]), set(config["categories"])
        matching = [
            line
            for line in context.order.lines
            if (line.sku and line.sku in skus)
            or (line.product_id and line.product_id in products)
            or categories.intersection(line.categories)
        ]
        if not matching:
            return []
        amount = sum((line.total for line in matching), start=0)
        extra = amount * config["points_per_unit"] * (config["multiplier"] - 1)
        titles = ", ".join(line.title for line in matching)
        return [Award(extra, f"x{config['multiplier']} on {titles}")]


@hookimpl
def register_earning_rule_types(register):
    register(ProductMultiplier())
