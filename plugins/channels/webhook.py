"""Outbound webhooks: each event POSTed as JSON to an endpoint of the program's, signed per Standard Webhooks.

A destination's config is its ``url`` and a ``secret`` (``whsec_`` and
base64, made by the platform when none is given, shown once). Every
delivery carries the Standard Webhooks headers, signed with the
``standardwebhooks`` package (the reference implementation receivers
verify with, so the two cannot drift apart):

* ``webhook-id``: the event's id (``evt_…``), the same on every retry and
  replay, so a receiver that saw it already can ignore it;
* ``webhook-timestamp``: when this attempt left, in Unix seconds of the
  real clock (receivers refuse timestamps more than five minutes off
  theirs, so it is never the app's test or demo clock);
* ``webhook-signature``: ``v1,`` + HMAC-SHA256 of ``id.timestamp.body``.

The body is the event's payload as compact JSON with sorted keys, the same
bytes on every attempt. A 2xx answer delivers it; anything else, a
timeout or a connection error is retried by the platform (with backoff,
then dead-lettered). Redirects are not followed (a 3xx is a failure that
says where it pointed): the URL to call is the one the program manager
gave, never one the receiver picks, which keeps the SSRF guard whole.

The SSRF guard (:func:`loyalty.plugin_api.check_public_url`) checks the URL
when the endpoint is added and again before every attempt, and the request
goes to the very addresses that were checked (the URL's host is replaced
by the address, with ``Host`` and the TLS server name kept as the host
name, so certificates are verified as usual): a DNS answer that changes
between the check and the connection cannot lead inside. A URL refused at
send time is retried like a dead receiver (DNS may be fixed), never called.
No proxy from the environment is used (``trust_env=False``).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from marshmallow import ValidationError, fields
from standardwebhooks import Webhook

from loyalty.plugin_api import (
    ChannelConfigSchema,
    NotificationChannel,
    Outcome,
    allow_private,
    check_public_url,
    errors,
    hookimpl,
)

if TYPE_CHECKING:  # imported where a message is sent: every command would import it for nothing
    import httpx

#: Seconds to wait for any one network step (connect, send, each read); connecting gets less.
TIMEOUT = 10.0
CONNECT_TIMEOUT = 3.0
#: The whole answer must have arrived this many seconds after it began; more of its body is not read.
READ_DEADLINE = 10.0
#: What is read of an answer's body (its first characters go into the error a person reads).
MAX_BODY = 64 * 1024
#: What servers' TLS certificates are verified against: the system's CAs (httpx's default; tests give their own).
VERIFY: object = True
SECRET_PREFIX = "whsec_"
#: Standard Webhooks secrets are 24 to 64 bytes; the platform makes 32.
SECRET_BYTES = 32


def _user_agent() -> str:
    try:
        number = version("loyalty-platform")
    except PackageNotFoundError:  # a plain checkout, not installed
        number = "dev"
    return f"loyalty-platform/{number} (outbound webhooks; Standard Webhooks)"


USER_AGENT = _user_agent()


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _check_secret(value: str) -> None:
    if not value.startswith(SECRET_PREFIX):
        raise ValidationError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("the part after whsec_ must be base64") from None
    if not 24 <= len(key) <= 64:
        raise ValidationError("a signing secret holds 24 to 64 bytes (leave it out and one is made)")


def _check_url(value: str) -> None:
    try:
        check_public_url(value, allow_private=True)  # the shape only; addresses are checked by ``refuses``
    except errors.InvalidInput as exc:
        raise ValidationError(exc.message) from None


class WebhookConfig(ChannelConfigSchema):
    """One endpoint: where to POST, and the secret to sign with (made when left out)."""

    url = fields.String(
        required=True,
        validate=_check_url,
        error_messages={"required": "give the endpoint's URL, like https://hooks.example.com/loyalty"},
    )
    secret = fields.String(load_default=new_secret, validate=_check_secret)


def body_of(payload: dict) -> str:
    """The request body: compact JSON, keys sorted, UTF-8 as is (the same text for every attempt)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _said(text: str) -> str:
    """The start of a receiver's answer, fit to show a person: one line, printable, short."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned[:200]


class WebhookChannel(NotificationChannel):
    """POSTs each event to the destination's URL; one HTTP client per endpoint host, shared by the sender's threads.

    A client per host (not one for all) because requests go to addresses,
    not names: two hosts on one address must not share a TLS connection
    made for the other's certificate.
    """

    def __init__(self, **fields):
        super().__init__(**fields)
        self._clients: dict[tuple[str, str, int], httpx.Client] = {}
        self._lock = threading.Lock()

    def refuses(self, config, settings):
        try:
            check_public_url(config.get("url"), allow_private=allow_private(settings))
        except errors.InvalidInput as exc:
            return exc.message
        return None

    def _client(self, target) -> httpx.Client:
        import httpx

        key = (target.scheme, target.host, target.port)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = httpx.Client(
                    verify=VERIFY,
                    follow_redirects=False,
                    trust_env=False,
                    headers={"User-Agent": USER_AGENT},
                )
                self._clients[key] = client
            return client

    def send(self, message):
        config = message.destination
        try:
            target = check_public_url(config.get("url"), allow_private=allow_private(message.settings))
        except errors.InvalidInput as exc:
            return Outcome.retry(f"not sent: {exc.message}")
        body = body_of(message.payload)
        try:
            _check_secret(str(config.get("secret") or ""))
        except ValidationError:  # edited by hand in the database: no attempt can succeed until it is rotated
            return Outcome.failed("the endpoint's signing secret is not a valid whsec_ secret: rotate it")
        sent_at = datetime.now(timezone.utc).replace(microsecond=0)  # one moment for the header and the signature
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # an answer is read raw, and only so far: no compressed bodies
            "webhook-id": message.event_uid,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(config["secret"]).sign(message.event_uid, sent_at, body),
        }
        return self._post(target, body.encode("utf-8"), headers)

    def _post(self, target, content: bytes, headers: dict) -> Outcome:
        import httpx

        client = self._client(target)
        url = httpx.URL(target.url)
        if not target.addresses:  # private addresses allowed: connect by name
            return self._attempt(client, url, content, headers, {})[0]
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        for address in target.addresses:  # the checked addresses, in the resolver's order; the next if one refuses
            outcome, unreachable = self._attempt(client, url.copy_with(host=address), content, headers, extensions)
            if not unreachable:
                break
        return outcome

    def _attempt(self, client, url, content, headers, extensions) -> tuple[Outcome, bool]:
        """One POST; what became of it, and whether the address could not be reached at all (try the next one)."""
        import httpx

        try:
            timeout = httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT)  # read here, so tests can shorten them
            with client.stream(
                "POST", url, content=content, headers=headers, extensions=extensions, timeout=timeout
            ) as response:
                code = response.status_code
                said = _said(_read(response).decode("utf-8", "replace"))
                location = response.headers.get("location", "")
        except httpx.ConnectTimeout:
            return Outcome.retry(f"could not connect within {CONNECT_TIMEOUT:g} s"), True
        except httpx.TimeoutException:
            return Outcome.retry(f"timed out after {TIMEOUT:g} s"), False
        except httpx.ConnectError as exc:
            return Outcome.retry(f"could not connect: {_said(str(exc)) or type(exc).__name__}"), True
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {_said(str(exc))}"), False
        if 200 <= code < 300:
            return Outcome.delivered(code), False
        if 300 <= code < 400:
            where = _said(location) or "nowhere (no Location header)"
            detail = f"HTTP {code}: redirect to {where} not followed (give the endpoint's final URL)"
            return Outcome.retry(detail, code), False
        return Outcome.retry(f"HTTP {code}" + (f": {said}" if said else ""), code), False


def _read(response) -> bytes:
    """Up to :data:`MAX_BODY` of the answer as sent (not decompressed), within :data:`READ_DEADLINE` (a receiver that
    drips is cut off)."""
    deadline = time.monotonic() + READ_DEADLINE
    data = bytearray()
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= MAX_BODY or time.monotonic() > deadline:
            break
    return bytes(data[:MAX_BODY])


WEBHOOK = WebhookChannel(
    name="webhook",
    title="Outbound webhook",
    schema=WebhookConfig,
    audience="program",
    secret_fields=("secret",),
)


@hookimpl
def register_notification_channels(register):
    register(WEBHOOK)
