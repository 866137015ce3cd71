"""A bonus on a member's first paid order."""

from __future__ import annotations

from marshmallow import fields, validate

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, points_text


class FirstOrderBonusConfig(RuleConfigSchema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class FirstOrderBonus(EarningRuleType):
    name = "first_order_bonus"
    title = "First order bonus"
    description = "Fixed points on the member's first paid order."
    events = ("order_paid",)
    schema = FirstOrderBonusConfig

    def evaluate(self, context, config):
        if context.member.previous_paid_orders:
            return []
        return [Award(config["points"], "first paid order")]

    def describe(self, config, currency):
        return f"{points_text(config['points'])} on your first order"


@hookimpl
def register_earning_rule_types(register):
    register(FirstOrderBonus())
