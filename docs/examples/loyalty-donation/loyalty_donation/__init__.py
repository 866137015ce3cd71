"""A reward type: the member gives their points' value to a charity instead of taking a discount.

A complete reward type plugin: a config schema (extending the platform's
:class:`RewardConfigSchema`), ``issue`` (here nothing to hand out: no
code, the donation's details are kept with the redemption for the
monthly transfer to the charity), a pricing check, and a catalog line.
It may be priced ``fixed`` (a set amount) or ``variable`` (the member
chooses how many points, in steps of money). Raising
:class:`RewardNotIssued` in ``issue`` fails the redemption with the
reason and spends no points.
"""

from decimal import Decimal

from marshmallow import fields, validate

from loyalty.plugin_api import Issued, RewardConfigSchema, RewardNotIssued, RewardType, errors, hookimpl


class DonationSchema(RewardConfigSchema):
    charity = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"description": "Who receives the donation."}
    )
    amount = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "The donation of a fixed-price reward (variable: the steps)."},
    )
    paused = fields.Boolean(load_default=False, metadata={"description": "Refuse donations for now."})


class Donation(RewardType):
    name = "donation"
    title = "Donation to a charity"
    description = "The points' value goes to a charity; the member gets a thank-you, not a code."
    schema = DonationSchema
    variable = True

    def issue(self, redemption, config):
        if config["paused"]:
            raise RewardNotIssued(f"donations to {config['charity']} are paused")
        amount = redemption.value if redemption.value is not None else Decimal(config["amount"])
        return Issued(
            code=None,
            details={
                "charity": config["charity"],
                "amount": str(amount),
                "currency": redemption.currency,
                "reference": redemption.key,
            },
        )

    def check_pricing(self, config, pricing):
        if pricing == "fixed" and config.get("amount") is None:
            raise errors.InvalidInput("a fixed-price donation needs an amount in its config")
        if pricing == "variable" and config.get("amount") is not None:
            raise errors.InvalidInput("a variable donation's amount is its steps: leave amount out")

    def describe(self, config, currency):
        return f"a donation to {config['charity']}"


@hookimpl
def register_reward_types(register):
    register(Donation())
