"""Tests for the example chat-room channel, written with the kit the platform ships (loyalty.testing)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loyalty_chat_room
import pytest

from loyalty.plugin_api import errors


@pytest.fixture
def loyalty_plugins():
    # Installed with pip the plugin is found through its entry point; naming
    # it here as well makes these tests work from a plain checkout too.
    return [loyalty_chat_room]


@pytest.fixture
def room(loyalty_app):
    """A chat service on this machine: it keeps what it is sent and answers with the next of ``answers`` (then 200)."""
    loyalty_app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # it listens on 127.0.0.1
    posted, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", posted, answers
    server.shutdown()
    server.server_close()


def test_a_flagged_referral_is_posted_to_the_room(
    room, loyalty_add_destination, loyalty_record_event, loyalty_member, loyalty_send_messages
):
    url, posted, _ = room
    loyalty_add_destination("chat_room", {"url": url}, events="referral.flagged")
    loyalty_record_event("referral.flagged", loyalty_member, reason="the friend ordered before")
    assert loyalty_send_messages()["delivered"] == 1
    assert posted == [
        {
            "text": "Test: a referral by c-1 was held for review (the friend ordered before). "
            "Approve or reject it in the admin."
        }
    ]


def test_events_without_words_are_not_sent(
    room, loyalty_add_destination, loyalty_record_event, loyalty_member, loyalty_send_messages
):
    url, posted, _ = room
    loyalty_add_destination("chat_room", {"url": url}, events="all")
    loyalty_record_event("points.earned", loyalty_member, points=10)
    loyalty_send_messages()
    assert posted == []


def test_a_failing_service_is_retried_and_a_deleted_webhook_is_not(
    room,
    loyalty_add_destination,
    loyalty_record_event,
    loyalty_member,
    loyalty_send_messages,
    loyalty_deliveries,
    loyalty_clock,
):
    url, posted, answers = room
    loyalty_add_destination("chat_room", {"url": url}, events="points.adjusted")
    answers.extend([503, 410])
    loyalty_record_event("points.adjusted", loyalty_member, points=-20, reason="goodwill")
    loyalty_send_messages()
    [delivery] = loyalty_deliveries()
    assert (delivery.status, delivery.response_code) == ("pending", 503)
    loyalty_clock.advance(delivery.next_attempt_at - loyalty_clock.now())
    loyalty_send_messages()
    [delivery] = loyalty_deliveries()
    assert (delivery.status, delivery.last_error) == ("failed", "the chat service answered 410: the webhook is gone")
    assert [p["text"] for p in posted] == ["Test: -20 points adjusted by hand for c-1."] * 2


def test_a_room_inside_the_network_is_refused(loyalty_app, loyalty_add_destination):
    loyalty_app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    with pytest.raises(errors.InvalidInput, match="a loopback address"):
        loyalty_add_destination("chat_room", {"url": "http://127.0.0.1:9/hooks"})
