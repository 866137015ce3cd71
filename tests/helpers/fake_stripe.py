"""A local HTTP server that answers the Stripe API endpoints the Stripe reward type uses.

The real stripe library is pointed at it (``stripe.api_base``), so the
requests, their form encoding, idempotency keys and the library's error
handling are Stripe's own. Answers can be scripted per path: ``declined``
(402 card_error), ``rate_limited`` (429), ``network`` (the connection is
dropped without an answer), ``server_error`` (500).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ERRORS = {
    "declined": (402, {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}),
    "rate_limited": (
        429,
        {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Too many requests hit the API too quickly.",
        },
    ),
    "server_error": (500, {"type": "api_error", "message": "Something went wrong on Stripe's end."}),
}


class FakeStripe:
    def __init__(self):
        self.requests: list[dict] = []
        self.scripts: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._replies: dict[str, tuple[int, dict]] = {}  # idempotency key -> first answer, as Stripe does
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def script(self, path: str, *outcomes: str) -> None:
        """The next requests to ``path`` (a prefix) get these outcomes, one each, then normal answers."""
        self.scripts.setdefault(path, []).extend(outcomes)

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(path)]

    def _next_outcome(self, path: str) -> str | None:
        with self._lock:
            for prefix, outcomes in self.scripts.items():
                if path.startswith(prefix) and outcomes:
                    return outcomes.pop(0)
        return None

    def _answer(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        number = next(self._ids)
        if method == "POST" and path == "/v1/coupons":
            return 200, {"id": f"co_test{number}", "object": "coupon", "valid": True, **_plain(params)}
        if method == "POST" and path == "/v1/promotion_codes":
            return 200, {"id": f"promo_test{number}", "object": "promotion_code", "active": True, **_plain(params)}
        if method == "POST" and path.startswith("/v1/promotion_codes/"):
            return 200, {"id": path.rsplit("/", 1)[1], "object": "promotion_code", **_plain(params)}
        if method == "DELETE" and path.startswith("/v1/coupons/"):
            return 200, {"id": path.rsplit("/", 1)[1], "object": "coupon", "deleted": True}
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: {path})"}
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = parse_qs(body, keep_blank_values=True)
                key = self.headers.get("Idempotency-Key")
                record = {
                    "method": method,
                    "path": self.path,
                    "params": {k: v[0] for k, v in params.items()},
                    "idempotency_key": key,
                    "authorization": self.headers.get("Authorization"),
                }
                fake.requests.append(record)
                outcome = fake._next_outcome(self.path)
                if outcome == "network":
                    self.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
                    self.close_connection = True
                    return
                if outcome is not None:
                    status, error = ERRORS[outcome]
                    payload = {"error": error}
                else:
                    with fake._lock:
                        if key and key in fake._replies:
                            status, payload = fake._replies[key]
                        else:
                            status, payload = fake._answer(method, self.path, params)
                            if key:
                                fake._replies[key] = (status, payload)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if key:
                    self.send_header("Idempotency-Key", key)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

            def do_GET(self):
                self._serve("GET")

        return Handler


def _plain(params: dict) -> dict:
    """Form fields back as a flat object (``metadata[x]`` stays as it is; enough for the tests)."""
    return {key: values[0] for key, values in params.items() if "[" not in key}
