"""Bonus points when an order's subtotal reaches a threshold: "spend $100, get 50 points".

A complete earning rule plugin: a config schema, an ``evaluate`` method,
a ``describe`` method (what shoppers read) and the registration hook.
Several steps can be configured; the highest one reached pays.
"""

from marshmallow import Schema, ValidationError, fields, validate, validates

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, money_text, points_text


class StepSchema(Schema):
    spend = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0, min_inclusive=False))
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class SpendThresholdConfig(RuleConfigSchema):
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1))

    @validates("steps")
    def _increasing(self, steps, **kwargs):
        spends = [step["spend"] for step in steps]
        if spends != sorted(set(spends)):
            raise ValidationError("steps must have increasing, distinct spend amounts")


class SpendThreshold(EarningRuleType):
    name = "spend_threshold"
    title = "Spend threshold bonus"
    description = "Bonus points when the order subtotal (after discounts) reaches a threshold."
    events = ("order_paid",)
    schema = SpendThresholdConfig

    def evaluate(self, context, config):
        reached = [step for step in config["steps"] if context.order.net_subtotal >= step["spend"]]
        if not reached:
            return []
        best = reached[-1]
        return [Award(best["points"], f"spent {best['spend']} {context.order.currency} or more")]

    def describe(self, config, currency):
        return ", ".join(
            f"{points_text(step['points'])} on orders of {money_text(step['spend'], currency)} or more"
            for step in config["steps"]
        )


@hookimpl
def register_earning_rule_types(register):
    register(SpendThreshold())
