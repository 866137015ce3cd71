"""A local webhook receiver, a plain HTTP channel, and postings that make events: the outbox's concurrency kit.

* :class:`Receiver` is a threaded HTTP server that checks every request's
  signature with the ``standardwebhooks`` library (a bad one is answered
  401 and kept apart) and records ``webhook-id`` per path, so a test can
  count how often each event reached each endpoint. A test can make it
  answer a status for a while, or hold a request until the test lets it go
  (the sender is killed meanwhile).
* This module is also a plugin (``LOYALTY_PLUGINS='["tests.helpers.outbound"]'``
  in a ``loyalty worker`` subprocess, ``pytest.mark.plugins(...)`` in the
  test's app): it registers the ``http`` channel, which signs the payload
  per Standard Webhooks with the destination's ``secret`` and POSTs it to
  its ``url``. It adds ``x-sender-pid``, so a test knows which worker
  process is sending.
* :func:`post_earning` is a real posting (``Ledger.earn``) whose
  ``points.earned`` event is written in the posting's transaction; the
  uids of the events the transaction wrote are returned, so a test can
  look for them whether it then commits or rolls back.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from loyalty.plugin_api import NotificationChannel, Outcome, hookimpl

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes: a Standard Webhooks secret
TIMEOUT = 10.0


class HttpChannel(NotificationChannel):
    """Standard Webhooks over plain ``http.client``: 2xx is delivered, anything else (or no answer) a retry."""

    def send(self, message):
        body = json.dumps(message.payload, separators=(",", ":"))
        timestamp = datetime.fromtimestamp(int(message.now.timestamp()), tz=message.now.tzinfo)
        signature = Webhook(message.destination["secret"]).sign(message.event_uid, timestamp, body)
        url = urlsplit(message.destination["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
        try:
            conn.request(
                "POST",
                url.path or "/",
                body=body.encode(),
                headers={
                    "content-type": "application/json",
                    "webhook-id": message.event_uid,
                    "webhook-timestamp": str(int(timestamp.timestamp())),
                    "webhook-signature": signature,
                    "x-sender-pid": str(os.getpid()),
                },
            )
            answer = conn.getresponse()
            answer.read()
        except OSError as exc:
            return Outcome.retry(f"no answer: {exc}")
        finally:
            conn.close()
        if 200 <= answer.status < 300:
            return Outcome.delivered(answer.status)
        return Outcome.retry(f"HTTP {answer.status}", answer.status)


HTTP = HttpChannel(name="http", title="HTTP (tests)")


@hookimpl
def register_notification_channels(register):
    register(HTTP)


class Receiver:
    """Records what arrives, per path: ``received`` is a list of ``(path, webhook_id, payload)``, verified ones only.

    ``answers[path]``: status codes to answer there, in order (then 200).
    ``hold(path)``: the next request to ``path`` waits until :meth:`release`;
    ``held`` is set when it arrived (its ``x-sender-pid`` in ``held_pid``),
    and a held request is not recorded as received (its sender is meant to die).
    ``delay``: seconds every answer waits (a slow endpoint), per path.
    ``senders``: the ``x-sender-pid`` of every delivered request.
    """

    def __init__(self, secret: str = SECRET, port: int = 0):
        self.verifier = Webhook(secret)
        self.received: list[tuple[str, str, dict]] = []
        self.refused: list[tuple[str, str]] = []
        self.senders: set[str | None] = set()
        self.answers: dict[str, list[int]] = {}
        self.delay: dict[str, float] = {}
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.held_pid: int | None = None
        self.held_id: str | None = None
        self._hold_path: str | None = None
        self._let_go = threading.Event()
        self._release_status = 503
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._let_go.set()
        self.server.shutdown()
        self.server.server_close()

    def hold(self, path: str) -> None:
        self.held.clear()
        self._let_go.clear()
        self._hold_path = path

    def release(self, status: int = 503) -> None:
        """Let the held request go, answered ``status`` (recorded as received if 2xx)."""
        self._release_status = status
        self._let_go.set()

    def counts(self) -> Counter:
        """How often each ``(path, webhook_id)`` arrived."""
        with self.lock:
            return Counter((path, webhook_id) for path, webhook_id, _ in self.received)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                webhook_id = headers.get("webhook-id", "")
                try:
                    payload = receiver.verifier.verify(body, headers)
                except WebhookVerificationError:
                    with receiver.lock:
                        receiver.refused.append((self.path, webhook_id))
                    return self._answer(401)
                with receiver.lock:
                    holding = receiver._hold_path == self.path
                    if holding:
                        receiver._hold_path = None
                if holding:
                    receiver.held_pid, receiver.held_id = int(headers.get("x-sender-pid", 0)), webhook_id
                    receiver.held.set()
                    receiver._let_go.wait(60)
                    status = receiver._release_status
                else:
                    if receiver.delay.get(self.path):
                        threading.Event().wait(receiver.delay[self.path])
                    status = None
                with receiver.lock:
                    if status is None:
                        script = receiver.answers.get(self.path)
                        status = script.pop(0) if script else 200
                    if 200 <= status < 300:
                        receiver.received.append((self.path, webhook_id, payload))
                        receiver.senders.add(headers.get("x-sender-pid"))
                self._answer(status)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone

        return Handler


def post_earning(session, ledger, member, points: int, *, key: str) -> list[str]:
    """Earn ``points`` for ``member`` with its ``points.earned`` event, uncommitted; the uids of the events written.

    The event is recorded here unless the ledger records one itself (once
    events are recorded at their change sites, this only reads them).
    """
    from loyalty.messages import outbox
    from loyalty.models import OutboxEvent

    before = session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
    ledger.earn(member, points, key=key)
    session.flush()
    if not session.scalar(select(func.count()).where(OutboxEvent.id > before, OutboxEvent.type == "points.earned")):
        outbox.record(
            session,
            member.program_id,
            "points.earned",
            at=ledger.clock.now(),
            member_id=member.id,
            data={"points": points},
        )
    return list(session.scalars(select(OutboxEvent.uid).where(OutboxEvent.id > before)))
