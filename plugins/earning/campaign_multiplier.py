"""A time-limited multiplier ("double points weekend")."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, base_rate_field, hookimpl


class CampaignMultiplierConfig(RuleConfigSchema):
    multiplier = fields.Decimal(
        required=True,
        as_string=True,
        validate=validate.Range(min=1, min_inclusive=False),
        metadata={"description": "Total rate during the campaign, e.g. 2 for double points."},
    )
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "Start (inclusive), ISO 8601 with zone."})
    ends_at = fields.AwareDateTime(required=True, metadata={"description": "End (exclusive), ISO 8601 with zone."})
    points_per_unit = base_rate_field()

    @validates_schema
    def _window(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("must be after starts_at", "ends_at")


class CampaignMultiplier(EarningRuleType):
    name = "campaign_multiplier"
    title = "Campaign multiplier"
    description = "Orders paid within a date window earn `multiplier` times the base rate (this rule adds the extra)."
    events = ("order_paid",)
    schema = CampaignMultiplierConfig

    def evaluate(self, context, config):
        if not (config["starts_at"] <= context.occurred_at < config["ends_at"]):
            return []
        extra = context.order.net_subtotal * config["points_per_unit"] * (config["multiplier"] - 1)
        return [Award(extra, f"x{config['multiplier']} campaign")]


@hookimpl
def register_earning_rule_types(register):
    register(CampaignMultiplier())
