"""Points per currency unit: the base earning rate of most programs."""

from __future__ import annotations

from marshmallow import fields, validate

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, money_text, points_text


class PointsPerCurrencyConfig(RuleConfigSchema):
    points_per_unit = fields.Decimal(
        required=True,
        as_string=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "Points for each whole unit of the store's currency (1 = 1 point per $1)."},
    )
    include_tax = fields.Boolean(load_default=False, metadata={"description": "Earn on tax too."})
    include_shipping = fields.Boolean(load_default=False, metadata={"description": "Earn on shipping too."})
    before_discounts = fields.Boolean(
        load_default=False, metadata={"description": "Earn on the subtotal before order discounts."}
    )


class PointsPerCurrency(EarningRuleType):
    name = "points_per_currency"
    title = "Points per currency unit"
    description = "Points for every unit spent: on the subtotal after discounts, optionally with tax and shipping."
    events = ("order_paid",)
    schema = PointsPerCurrencyConfig

    def evaluate(self, context, config):
        order = context.order
        base = order.subtotal if config["before_discounts"] else order.net_subtotal
        if config["include_tax"]:
            base += order.tax
        if config["include_shipping"]:
            base += order.shipping
        rate = config["points_per_unit"]
        return [Award(base * rate, f"{rate} points per {order.currency} 1 on {base} {order.currency}")]

    def describe(self, config, currency):
        """``1 point for every USD 1 spent``; a rate below 1 as people say it: ``1 point for every USD 10 spent``."""
        rate = config["points_per_unit"]
        spend = 1 / rate
        if rate < 1 and spend == spend.to_integral_value():
            text = f"1 point for every {money_text(spend, currency)} spent"
        else:
            text = f"{points_text(rate)} for every {money_text(1, currency)} spent"
        if config["before_discounts"]:
            text += " before discounts"
        included = " and ".join(part for part in ("tax", "shipping") if config[f"include_{part}"])
        return f"{text}, {included} included" if included else text


@hookimpl
def register_earning_rule_types(register):
    register(PointsPerCurrency())
