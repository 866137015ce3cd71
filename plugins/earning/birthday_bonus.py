"""A bonus on the member's birthday, once a year (the scheduler sends the event)."""

from __future__ import annotations

from marshmallow import fields, validate

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, points_text


class BirthdayBonusConfig(RuleConfigSchema):
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class BirthdayBonus(EarningRuleType):
    name = "birthday_bonus"
    title = "Birthday bonus"
    description = "Fixed points on the member's birthday; once a year per member."
    events = ("birthday",)
    schema = BirthdayBonusConfig

    def evaluate(self, context, config):
        if context.member.birthday is None:
            return []
        return [Award(config["points"], f"Happy birthday {context.occurred_at.year}")]

    def describe(self, config, currency):
        return f"{points_text(config['points'])} on your birthday"


@hookimpl
def register_earning_rule_types(register):
    register(BirthdayBonus())
