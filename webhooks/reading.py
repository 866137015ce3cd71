"""Reading a verified delivery with its adapter: its id, its topic and its events, or why it cannot be read.

An adapter is a plugin, perhaps a third party's, and a delivery is
whatever its sender signed. Whatever goes wrong while an adapter reads a
verified delivery (a ``KeyError`` for a missing field, a ``TypeError`` or
``AttributeError`` for a field of the wrong type, a ``RecursionError`` for
JSON nested thousands deep) means that this delivery cannot be read, now
or on any retry: it is a :class:`~loyalty.errors.MalformedWebhook`, which
the intake answers 400 before storing anything and the inbox records as
the delivery's failure. The events an adapter returns then go through
:func:`loyalty.earning.event_checks.checked`, so a value that would not fit the
database is refused here too, rather than crashing the transaction that
tries to write it.

The intake and the inbox both read through :func:`events_of`, so a stored
delivery is read again exactly as it was read when it arrived.
"""

from __future__ import annotations

import logging

from loyalty import errors
from loyalty.earning.event_checks import UNSTORABLE, checked, storable
from loyalty.storefronts.adapters import WebhookRequest

log = logging.getLogger(__name__)

#: A topic is shown in the inbox and kept in a column of this width.
TOPIC_LENGTH = 100


def delivery_id_of(adapter, request: WebhookRequest) -> str:
    """The store's id for the delivery, whole (the inbox dedupes on all of it)."""
    value = _call(adapter, "delivery id", adapter.delivery_id, request)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise errors.MalformedWebhook(f"the {adapter.title} delivery has no delivery id")
    if UNSTORABLE.search(value):
        raise errors.MalformedWebhook(
            f"the {adapter.title} delivery id contains a NUL character or an unpaired surrogate"
        )
    return value


def topic_of(adapter, request: WebhookRequest) -> str:
    value = _call(adapter, "topic", adapter.topic, request)
    return storable(value if isinstance(value, str) else "")[:TOPIC_LENGTH]


def events_of(adapter, request: WebhookRequest) -> list:
    """The delivery's normalized events, each checked to fit (:mod:`loyalty.earning.event_checks`)."""
    parsed = _call(adapter, "events", adapter.parse, request)
    if not isinstance(parsed, (list, tuple)):
        raise errors.MalformedWebhook(f"the {adapter.title} adapter did not return a list of events")
    try:
        return [checked(event) for event in parsed]
    except errors.InvalidInput as exc:
        raise errors.MalformedWebhook(
            f"the {adapter.title} delivery cannot be used: {exc.message}", **exc.details
        ) from None


def _call(adapter, what: str, method, request: WebhookRequest):
    try:
        return method(request)
    except errors.LoyaltyError:
        raise
    except RecursionError:
        raise errors.MalformedWebhook(f"the {adapter.title} delivery is nested too deeply to read") from None
    except Exception as exc:  # a payload the adapter did not expect: the same on every retry
        # One line (anyone with the secret could send thousands); the traceback for whoever debugs an adapter.
        log.info(
            "the %s adapter could not read the %s of a delivery: %s: %s",
            adapter.name,
            what,
            type(exc).__name__,
            exc,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        raise errors.MalformedWebhook(
            f"the {adapter.title} adapter could not read the delivery's {what} (a field is missing or of an "
            f"unexpected type): {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
