"""Stripe webhooks, verified by the stripe library itself (``Stripe-Signature``, 5 minutes either way).

Topics used: ``checkout.session.completed`` (paid sessions), ``payment_intent.succeeded``
and ``charge.succeeded`` (captured charges): the order id is the payment
intent's, so the same purchase reported by several of them earns once;
``charge.refunded`` (Stripe reports the running total refunded: the
pipeline refunds the difference); ``customer.created``.

Stripe amounts are integers in the currency's minor unit, as Stripe
counts it (zero-decimal currencies such as JPY have none; ISK, HUF and TWD
are sent with two decimals), converted here to ``Decimal``. A purchase with
no Stripe customer is attributed to the customer's e-mail.

Referrals: a member's code comes in the object's ``metadata`` (``ref`` or
``referral_code``, set when the store creates the Checkout Session or
PaymentIntent); the shipping address goes to the self-referral check.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from loyalty.plugin_api import (
    Address,
    Customer,
    CustomerCreated,
    OrderPaid,
    OrderRefunded,
    StorefrontAdapter,
    check_timestamp,
    errors,
    hookimpl,
    id_of,
    money,
    referral_mark,
)

TOLERANCE_SECONDS = 300


def from_stripe_amount(amount: int | None, currency: str) -> Decimal:
    """Stripe's integer minor units → ``Decimal`` (1099 usd → 10.99; 1099 jpy → 1099)."""
    if amount is None:
        raise errors.MalformedWebhook("a Stripe amount is missing")
    if isinstance(amount, bool) or not isinstance(amount, int):  # 2.5 or "2500" is not Stripe's
        raise errors.MalformedWebhook(f"a Stripe amount is a whole number of minor units, not {str(amount)[:40]!r}")
    exponent = money.stripe_exponent(currency)
    return (Decimal(amount).scaleb(-exponent)).quantize(Decimal(1).scaleb(-exponent))


def _when(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=timezone.utc) if timestamp else None


def _customer(customer_id, details: dict | None) -> Customer | None:
    details = details or {}
    email = details.get("email")
    if isinstance(customer_id, dict):  # an expanded customer object (API responses; webhooks send the id)
        customer_id = customer_id.get("id")
    if customer_id is not None and not isinstance(customer_id, str):
        raise errors.MalformedWebhook(f"a Stripe customer is an id such as cus_…, not {type(customer_id).__name__}")
    if customer_id:
        return Customer(customer_id, email, details.get("name"))
    if email:
        return Customer(email.strip().lower(), email, details.get("name"))
    return None


def _address(data: dict | None) -> Address | None:
    if not data:
        return None
    return Address(data.get("line1"), data.get("line2"), data.get("city"), data.get("postal_code"), data.get("country"))


def signed_at(header: str) -> int:
    """The ``t=`` of a ``Stripe-Signature`` header the library has accepted (so it is there, and an integer)."""
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name.strip() == "t":
            return int(value)
    raise errors.SignatureInvalid("Stripe signature: no timestamp")


class Stripe(StorefrontAdapter):
    name = "stripe"
    title = "Stripe"
    stored_headers = ()

    def verify(self, request, secret):
        """The signature by Stripe's own code; the timestamp by ours, both ways.

        The library checks only that a signature is not too old, against the
        machine's clock; a signature dated in the future passed. Here the
        timestamp must be within the tolerance of the time of receipt in
        both directions, as Standard Webhooks' is (and the clock can be
        moved in tests).
        """
        import stripe  # here, not at the top: every command would import it (a tenth of a second) for nothing

        header = request.header("Stripe-Signature")
        try:
            request.body.decode("utf-8")  # the library decodes it, and would raise something else
        except UnicodeDecodeError:
            raise errors.SignatureInvalid("Stripe signature: the body is not UTF-8, so it cannot be Stripe's") from None
        try:
            stripe.WebhookSignature.verify_header(request.body, header, secret, tolerance=None)
        except stripe.SignatureVerificationError as exc:
            raise errors.SignatureInvalid(f"Stripe signature: {exc.user_message or exc}") from None
        check_timestamp(request, signed_at(header), TOLERANCE_SECONDS, "the Stripe signature's timestamp")

    def _event(self, request) -> dict:
        data = request.json()
        if not isinstance(data, dict) or data.get("object") != "event":
            raise errors.MalformedWebhook("a Stripe webhook body is an event object")
        return data

    def delivery_id(self, request):
        return self._event(request).get("id")

    def topic(self, request):
        return str(self._event(request).get("type", ""))

    def parse(self, request):
        event = self._event(request)
        kind, obj = event.get("type"), (event.get("data") or {}).get("object") or {}
        try:
            if kind == "checkout.session.completed":
                return [self.from_session(obj, event)] if obj.get("payment_status") == "paid" else []
            if kind == "payment_intent.succeeded":
                return [self.from_payment_intent(obj, event)]
            if kind == "charge.succeeded":
                return [self.from_charge(obj, event)] if obj.get("paid") and obj.get("captured") else []
            if kind == "charge.refunded":
                return [self.refund(obj, event)]
            if kind == "customer.created" and obj.get("id"):
                return [
                    CustomerCreated(
                        Customer(id_of(obj["id"], "customer id"), obj.get("email"), obj.get("name")),
                        occurred_at=_when(obj.get("created")),
                    )
                ]
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise errors.MalformedWebhook(f"unexpected Stripe {kind} payload: {type(exc).__name__}: {exc}") from None
        return []

    @staticmethod
    def _order(
        order_id,
        currency,
        customer,
        total,
        event,
        *,
        subtotal=None,
        discount=0,
        tax=0,
        shipping=0,
        obj=None,
        ships_to=None,
    ):
        currency = currency.upper()
        amount = lambda value: from_stripe_amount(value, currency)  # noqa: E731
        return OrderPaid(
            order_id=id_of(order_id, "the payment's id"),
            customer=customer,
            currency=currency,
            subtotal=amount(subtotal if subtotal is not None else total),
            discount=amount(discount),
            tax=amount(tax),
            shipping=amount(shipping),
            total=amount(total),
            lines=(),
            occurred_at=_when(event.get("created")),
            origin="stripe",
            referral=referral_mark((obj or {}).get("metadata"), "metadata"),
            shipping_address=_address((ships_to or {}).get("address")),
        )

    def from_session(self, session: dict, event: dict) -> OrderPaid:
        details = session.get("total_details") or {}
        return self._order(
            session.get("payment_intent") or session["id"],
            session["currency"],
            _customer(session.get("customer"), session.get("customer_details")),
            session["amount_total"],
            event,
            subtotal=session.get("amount_subtotal"),
            discount=details.get("amount_discount") or 0,
            tax=details.get("amount_tax") or 0,
            shipping=details.get("amount_shipping") or 0,
            obj=session,
            ships_to=session.get("shipping_details")
            or (session.get("collected_information") or {}).get("shipping_details"),
        )

    def from_payment_intent(self, intent: dict, event: dict) -> OrderPaid:
        return self._order(
            intent["id"],
            intent["currency"],
            _customer(intent.get("customer"), {"email": intent.get("receipt_email")}),
            intent.get("amount_received") or intent["amount"],
            event,
            obj=intent,
            ships_to=intent.get("shipping"),
        )

    def from_charge(self, charge: dict, event: dict) -> OrderPaid:
        return self._order(
            charge.get("payment_intent") or charge["id"],
            charge["currency"],
            _customer(charge.get("customer"), charge.get("billing_details")),
            charge.get("amount_captured") or charge["amount"],
            event,
            obj=charge,
            ships_to=charge.get("shipping"),
        )

    @staticmethod
    def refund(charge: dict, event: dict) -> OrderRefunded:
        currency = charge["currency"].upper()
        refunded = charge["amount_refunded"]
        return OrderRefunded(
            order_id=id_of(charge.get("payment_intent") or charge["id"], "the payment's id"),
            refund_id=f"{id_of(charge['id'], 'the charge id')}@{refunded}",
            amount=from_stripe_amount(refunded, currency),
            currency=currency,
            occurred_at=_when(event.get("created")),
            cumulative=True,
        )


@hookimpl
def register_storefronts(register):
    register(Stripe())
