"""A bonus for joining the program."""

from __future__ import annotations

from marshmallow import fields, validate

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, points_text


class SignupBonusConfig(RuleConfigSchema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    apply_tier_multiplier = fields.Boolean(load_default=False)


class SignupBonus(EarningRuleType):
    name = "signup_bonus"
    title = "Sign-up bonus"
    description = "Fixed points when a member is enrolled, whichever way (customer created, first order, API)."
    events = ("enrolled",)
    schema = SignupBonusConfig

    def evaluate(self, context, config):
        return [Award(config["points"], "joined the program")]

    def describe(self, config, currency):
        return f"{points_text(config['points'])} when you sign up"


@hookimpl
def register_earning_rule_types(register):
    register(SignupBonus())
