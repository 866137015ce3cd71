"""Stripe promotion codes: a single-use coupon and promotion code made in the store's Stripe account.

Uses the stripe library with the API key of the program's Stripe connection
(``loyalty storefronts add --type stripe --api-key sk_…``). The coupon is
``duration=once`` and redeemable once; the promotion code carries the
platform's unguessable code, is restricted to the member's Stripe customer
when the member is one (their external id is a ``cus_…`` id), and expires
with the reward. Requests carry idempotency keys derived from the
redemption, so the library's retries (dropped connections, Stripe's 5xx
answers) never create two; a rate limit is not retried here but refused
at once (the member can try again). If Stripe refuses, the redemption fails with Stripe's reason and
no points are spent; cancelling a redemption deactivates its promotion code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from marshmallow import ValidationError, fields, validate, validates_schema

if TYPE_CHECKING:
    import stripe

from loyalty.plugin_api import (
    Issued,
    RewardConfigSchema,
    RewardNotIssued,
    RewardType,
    errors,
    hookimpl,
    money,
)

#: How often the stripe library retries a request after a network error or a 5xx answer.
MAX_NETWORK_RETRIES = 2


class StripePromotionSchema(RewardConfigSchema):
    amount_off = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "Money off (fixed price; a variable reward's is its steps)."},
    )
    percent_off = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=100, min_inclusive=False),
        metadata={"description": "Per cent off, instead of an amount."},
    )
    restrict_to_customer = fields.Boolean(
        load_default=True, metadata={"description": "Only the member's Stripe customer can use it (when known)."}
    )
    min_order = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "Stripe's minimum amount for the code to apply."},
    )

    @validates_schema
    def _one_discount(self, data, **_):
        if data.get("amount_off") is not None and data.get("percent_off") is not None:
            raise ValidationError("give amount_off or percent_off, not both")


class StripePromotionCode(RewardType):
    name = "stripe_promotion_code"
    title = "Stripe promotion code"
    description = "A single-use Stripe coupon and promotion code, for the member's Stripe customer when known."
    schema = StripePromotionSchema
    variable = True

    def check_pricing(self, config, pricing):
        if pricing == "fixed" and config.get("amount_off") is None and config.get("percent_off") is None:
            raise errors.InvalidInput("a fixed-price Stripe promotion code needs amount_off or percent_off")
        if pricing == "variable" and (config.get("amount_off") is not None or config.get("percent_off") is not None):
            raise errors.InvalidInput("a variable Stripe promotion code's amount is its steps: leave the discount out")

    def describe(self, config, currency):
        if config.get("percent_off") is not None:
            return f"{config['percent_off']}% off at checkout"
        return (
            f"{config['amount_off']} {currency} off at checkout"
            if config.get("amount_off")
            else f"{currency} off at checkout, in steps"
        )

    def issue(self, redemption, config):
        client = _client(redemption)
        currency = redemption.currency
        coupon = {
            "duration": "once",
            "max_redemptions": 1,
            "name": redemption.reward_name[:40],
            "metadata": {
                "loyalty_program": redemption.program_slug,
                "loyalty_redemption": str(redemption.redemption_id),
            },
        }
        if config.get("percent_off") is not None:
            coupon["percent_off"] = float(Decimal(config["percent_off"]))  # Stripe takes a number with 2 decimals
        else:
            amount = redemption.value if redemption.value is not None else Decimal(config["amount_off"])
            coupon.update(amount_off=_minor(amount, currency), currency=currency.lower())
        expires_at = redemption.expiry(config)
        code = redemption.new_code()
        promotion = {
            "promotion": {"type": "coupon"},
            "code": code,
            "max_redemptions": 1,
            "metadata": coupon["metadata"],
        }
        if expires_at is not None:
            promotion["expires_at"] = int(expires_at.timestamp())
            coupon["redeem_by"] = int(expires_at.timestamp())
        customer = redemption.member_external_id if redemption.member_external_id.startswith("cus_") else None
        if customer and config.get("restrict_to_customer", True):
            promotion["customer"] = customer
        if config.get("min_order") is not None:
            promotion["restrictions"] = {
                "minimum_amount": _minor(Decimal(config["min_order"]), currency),
                "minimum_amount_currency": currency.lower(),
            }
        created = _call(
            lambda: client.v1.coupons.create(params=coupon, options={"idempotency_key": f"{redemption.key}:coupon"})
        )
        promotion["promotion"]["coupon"] = created.id
        try:
            made = _call(
                lambda: client.v1.promotion_codes.create(
                    params=promotion, options={"idempotency_key": f"{redemption.key}:promotion_code"}
                )
            )
        except RewardNotIssued:
            import stripe

            try:  # no orphan coupon left behind
                client.v1.coupons.delete(created.id)
            except stripe.StripeError:
                pass
            raise
        return Issued(
            code, {"coupon": created.id, "promotion_code": made.id, "customer": promotion.get("customer")}, expires_at
        )

    def cancel(self, redemption, config):
        promotion_code = redemption.details.get("promotion_code")
        if promotion_code:
            client = _client(redemption)
            _call(lambda: client.v1.promotion_codes.update(promotion_code, params={"active": False}))


def _client(redemption) -> stripe.StripeClient:
    import stripe  # here, not at the top: every command would import it (a tenth of a second) for nothing

    api_key = redemption.credentials("stripe")
    if not api_key:
        raise RewardNotIssued(
            "Stripe is not connected with an API key (loyalty storefronts add --type stripe --api-key sk_…)"
        )
    # stripe.api_base: where the library sends requests (Stripe itself unless a test points it elsewhere).
    return stripe.StripeClient(
        api_key, base_addresses={"api": stripe.api_base}, max_network_retries=MAX_NETWORK_RETRIES
    )


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(money.stripe_exponent(currency)))


def _call(request):
    """One Stripe request; its errors as reasons a member and a program manager can read."""
    import stripe

    try:
        return request()
    except stripe.CardError as exc:
        raise RewardNotIssued(f"Stripe declined: {exc.user_message or exc.code or 'declined'}") from None
    except stripe.RateLimitError:
        raise RewardNotIssued("Stripe is rate limiting requests; nothing was spent, try again in a moment") from None
    except stripe.APIConnectionError:
        raise RewardNotIssued("could not reach Stripe (network failure); nothing was spent, try again") from None
    except stripe.StripeError as exc:
        raise RewardNotIssued(f"Stripe refused: {exc.user_message or exc}") from None


@hookimpl
def register_reward_types(register):
    register(StripePromotionCode())
