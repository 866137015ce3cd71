"""A real HTTP receiver for outbound webhooks: a threaded ``http.server`` on a free local port.

It verifies every request's Standard Webhooks signature with the
``standardwebhooks`` library (what a store's receiver would use, not the
platform's code), keeps what it got, and answers from a script: status
codes (``500``), redirects (``("redirect", url)``) or a pause before
answering (``("sleep", seconds)``), then ``200`` once the script is done.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

from loyalty.messages.channels import Message


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: The verified JSON payload, or ``None`` when the signature did not verify (``error`` says why).
    payload: dict | None
    error: str | None
    answered: int


class Receiver:
    """Start with ``with Receiver(secret) as receiver:``; ``receiver.url`` is where to send."""

    def __init__(self, secret: str | None = None, path: str = "/hooks", tls=None):
        self.secret = secret
        self.path = path
        self.requests: list[Received] = []
        self.script: list = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:  # (certificate file, key file): HTTPS
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="test-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        """The ``webhook-id`` of every request, in order of arrival."""
        with self.lock:
            return [r.headers.get("webhook-id", "") for r in self.requests]

    def _answer(self):
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def _keep(self, handler, body: bytes, answered: int) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        payload, error = None, None
        try:
            if self.secret is None:
                raise WebhookVerificationError("the receiver has no secret")
            payload = Webhook(self.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        with self.lock:
            self.requests.append(Received(handler.path, headers, body, payload, error, answered))

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = receiver._answer()
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = 200
                location = None
                if isinstance(answer, tuple) and answer[0] == "redirect":
                    location, answer = answer[1], 302
                receiver._keep(self, body, answer)
                reply = json.dumps({"ok": 200 <= answer < 300}).encode()
                try:
                    self.send_response(answer)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the sender gave up waiting (a timeout test)
                    pass

        return Handler


def message(url, *, secret, settings=None, uid="evt_0123456789abcdef", payload=None) -> Message:
    """A delivery as the sender hands it to a channel: to ``url``, signed with ``secret``, private addresses allowed."""
    payload = payload or {"id": uid, "type": "points.earned", "data": {"points": 5, "note": "café"}}
    return Message(
        delivery_id=1,
        attempt=1,
        event_uid=uid,
        event_type=payload["type"],
        payload=payload,
        payloads=(payload,),
        destination_id=1,
        destination={"url": url, "secret": secret},
        program={"slug": "acme", "name": "Acme", "currency": "USD"},
        member=None,
        content=None,
        settings={"OUTBOUND_ALLOW_PRIVATE": True} if settings is None else settings,
        now=datetime(2020, 1, 1, tzinfo=timezone.utc),  # the app's clock: never what the timestamp says
    )


def certificate(folder, host: str) -> tuple[str, str]:
    """A self-signed certificate for ``host`` (made by the openssl command): its certificate and key files."""
    cert, key = str(folder / f"{host}.pem"), str(folder / f"{host}.key")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=DNS:{host}",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
