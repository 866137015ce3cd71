"""Extra points on chosen products, SKUs or categories ("3x points on coffee")."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, base_rate_field, hookimpl, multiplier_text


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
    description = "Matching lines earn a multiple of the base rate: this rule awards the extra on top of the base rule."
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

    def describe(self, config, currency):
        """``Double points on products in Sale``: categories by name; SKUs and product ids mean nothing to shoppers."""
        categories = config["categories"]
        named = ", ".join(categories[:-1]) + f" or {categories[-1]}" if len(categories) > 1 else "".join(categories)
        chosen = bool(config["skus"] or config["product_ids"])
        if named and chosen:
            what = f"products in {named} and other selected products"
        else:
            what = f"products in {named}" if named else "selected products"
        return f"{multiplier_text(config['multiplier'])} on {what}"


@hookimpl
def register_earning_rule_types(register):
    register(ProductMultiplier())
