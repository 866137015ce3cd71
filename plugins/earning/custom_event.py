"""Points for a named event the store reports: a review, a social follow…"""

from __future__ import annotations

from datetime import datetime, timedelta

from marshmallow import fields, validate

from loyalty.plugin_api import Award, EarningRuleType, RuleConfigSchema, hookimpl, points_text

PERIODS = ("day", "week", "month", "year")


def period_start(moment: datetime, period: str) -> datetime:
    """The start (UTC) of the day, ISO week, month or year ``moment`` falls in."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


class CustomEventConfig(RuleConfigSchema):
    event_name = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"description": "e.g. review_written"}
    )
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    limit = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "At most this many awards per member per period."},
    )
    per = fields.String(
        load_default="day",
        validate=validate.OneOf(PERIODS),
        metadata={
            "label": "Limit period",
            "labels": {"day": "Per day", "week": "Per week", "month": "Per month", "year": "Per year"},
            "description": "The period the limit counts over.",
        },
    )
    once_only = fields.Boolean(load_default=False, metadata={"description": "At most one award per member, ever."})


class CustomEvent(EarningRuleType):
    name = "custom_event"
    title = "Custom event"
    description = "Points when the store reports a named event, with an optional cap per period or once only."
    events = ("custom_event",)
    schema = CustomEventConfig

    def evaluate(self, context, config):
        if context.event_name != config["event_name"]:
            return []
        if config["once_only"] and context.count_awards(None):
            return []
        if config["limit"] is not None:
            if context.count_awards(period_start(context.occurred_at, config["per"])) >= config["limit"]:
                return []
        return [Award(config["points"], config["event_name"].replace("_", " ").capitalize())]

    def describe(self, config, currency):
        """``25 points for review written, up to 3 times a week``: the event's name is all it knows of the event."""
        text = f"{points_text(config['points'])} for {config['event_name'].replace('_', ' ')}"
        if config["once_only"]:
            return f"{text}, once"
        if config["limit"] is not None:
            times = {1: "once", 2: "twice"}.get(config["limit"], f"up to {config['limit']} times")
            return f"{text}, {times} a {config['per']}"
        return text


@hookimpl
def register_earning_rule_types(register):
    register(CustomEvent())
