"""A storefront adapter for "Tinyshop", a made-up store that signs its webhooks as many stores do.

Tinyshop posts JSON to ``/webhooks/<program>/tinyshop`` with three headers:

* ``X-Tinyshop-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the secret>``;
* ``X-Tinyshop-Delivery``: its id for the delivery (the same when it retries);
* ``X-Tinyshop-Topic``: ``order.paid``, ``order.refunded``, ``customer.created``
  (or ``ping``, unsigned, when a webhook is created).

The adapter checks the signature in constant time, reads the body's values
with the platform's readers (an id of the wrong JSON type or an amount
such as ``"1,5"`` is a malformed delivery, answered 400 and not stored),
and returns the normalized events; any other topic gives ``[]`` (stored,
``ignored``).
"""

from loyalty.plugin_api import (
    Customer,
    CustomerCreated,
    Line,
    OrderPaid,
    OrderRefunded,
    StorefrontAdapter,
    count_of,
    errors,
    hmac_sha256,
    hookimpl,
    id_of,
    money_of,
    same,
)


def _customer(data) -> Customer:
    if not isinstance(data, dict):
        raise errors.MalformedWebhook("customer must be an object")
    return Customer(external_id=id_of(data.get("id"), "customer.id"), email=data.get("email"), name=data.get("name"))


class Tinyshop(StorefrontAdapter):
    name = "tinyshop"
    title = "Tinyshop"
    #: The inbox keeps the topic header with the body: ``topic`` and ``parse`` read it when a delivery is replayed.
    stored_headers = ("x-tinyshop-topic",)

    def is_ping(self, request):
        return request.header("X-Tinyshop-Topic") == "ping" and request.header("X-Tinyshop-Signature") is None

    def verify(self, request, secret):
        scheme, _, digest = (request.header("X-Tinyshop-Signature") or "").partition("=")
        try:
            given = bytes.fromhex(digest)
        except ValueError:
            raise errors.SignatureInvalid("X-Tinyshop-Signature is not sha256=<hex>") from None
        if scheme != "sha256" or not same(hmac_sha256(secret.encode(), request.body), given):
            raise errors.SignatureInvalid("X-Tinyshop-Signature does not match the body")

    def delivery_id(self, request):
        return request.header("X-Tinyshop-Delivery")

    def topic(self, request):
        return request.header("X-Tinyshop-Topic") or ""

    def _order(self, data) -> OrderPaid:
        items = data.get("items") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise errors.MalformedWebhook("items must be a list of objects")
        lines = tuple(
            Line(
                id=str(n),
                title=str(item.get("sku") or "item"),
                sku=item.get("sku"),
                quantity=count_of(item.get("qty"), "items[].qty"),
                total=money_of(item.get("total"), "items[].total"),
            )
            for n, item in enumerate(items, start=1)
        )
        total = money_of(data.get("total"), "total")
        return OrderPaid(
            order_id=id_of(data.get("id"), "id"),
            customer=_customer(data.get("customer")),
            currency=str(data.get("currency") or ""),
            subtotal=money_of(data.get("subtotal", total), "subtotal"),
            total=total,
            lines=lines,
            origin=self.name,
        )

    def parse(self, request):
        topic, data = self.topic(request), request.json()
        if not isinstance(data, dict):
            raise errors.MalformedWebhook("the body must be a JSON object")
        if topic == "order.paid":
            return [self._order(data)]
        if topic == "order.refunded":
            return [
                OrderRefunded(
                    order_id=id_of(data.get("order_id"), "order_id"),
                    refund_id=id_of(data.get("refund_id"), "refund_id"),
                    amount=money_of(data.get("amount"), "amount"),
                    currency=str(data.get("currency") or ""),
                )
            ]
        if topic == "customer.created":
            return [CustomerCreated(customer=_customer(data))]
        return []


@hookimpl
def register_storefronts(register):
    register(Tinyshop())
