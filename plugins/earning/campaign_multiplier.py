"""A time-limited multiplier ("double points weekend")."""

from __future__ import annotations

from datetime import timedelta

from marshmallow import ValidationError, fields, validate, validates_schema

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, base_rate_field, hookimpl, multiplier_text

#: Month names written out, not strftime's %B, which follows the server's locale.
MONTHS = "January February March April May June July August September October November December".split()


def days_text(starts_at, ends_at) -> str:
    """``on 1 December 2025``, ``from 1 to 3 December 2025``, ``from 28 November to 3 December 2025``.

    Days as each end's own zone has them; ``ends_at`` is exclusive, so a
    campaign ending at midnight ends on the day before.
    """
    first, last = starts_at.date(), (ends_at - timedelta(microseconds=1)).date()
    if first >= last:
        return f"on {first.day} {MONTHS[first.month - 1]} {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        start = f"{first.day}"
    elif first.year == last.year:
        start = f"{first.day} {MONTHS[first.month - 1]}"
    else:
        start = f"{first.day} {MONTHS[first.month - 1]} {first.year}"
    return f"from {start} to {last.day} {MONTHS[last.month - 1]} {last.year}"


class CampaignMultiplierConfig(RuleConfigSchema):
    multiplier = fields.Decimal(
        required=True,
        as_string=True,
        validate=validate.Range(min=1, min_inclusive=False),
        metadata={"description": "Total rate during the campaign, e.g. 2 for double points."},
    )
    starts_at = fields.AwareDateTime(
        required=True,
        metadata={
            "label": "Starts",
            "description": "The first moment orders earn the campaign's rate (CLI and API: ISO 8601 with a zone).",
        },
    )
    ends_at = fields.AwareDateTime(
        required=True,
        metadata={
            "label": "Ends",
            "description": "From this moment on orders earn the usual rate again (CLI and API: ISO 8601 with a zone).",
        },
    )
    points_per_unit = base_rate_field()

    @validates_schema
    def _window(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("must be after starts_at", "ends_at")


class CampaignMultiplier(EarningRuleType):
    name = "campaign_multiplier"
    title = "Campaign multiplier"
    description = "Orders paid within a date window earn a multiple of the base rate (this rule adds the extra)."
    events = ("order_paid",)
    schema = CampaignMultiplierConfig

    def evaluate(self, context, config):
        if not (config["starts_at"] <= context.occurred_at < config["ends_at"]):
            return []
        extra = context.order.net_subtotal * config["points_per_unit"] * (config["multiplier"] - 1)
        return [Award(extra, f"x{config['multiplier']} campaign")]

    def offered(self, config, now):
        return now < config["ends_at"]  # shoppers read about a campaign until it ends, upcoming ones too

    def describe(self, config, currency):
        return f"{multiplier_text(config['multiplier'])} on orders {days_text(config['starts_at'], config['ends_at'])}"


@hookimpl
def register_earning_rule_types(register):
    register(CampaignMultiplier())
