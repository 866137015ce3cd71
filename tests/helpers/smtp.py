"""A real SMTP server for tests (aiosmtpd, on a local port), which keeps what it receives and answers as scripted.

``smtp_server`` is a fixture (import it by name): the server, started for
the test and stopped after; ``smtp_server.url`` is the ``SMTP_URL`` that
reaches it (plain SMTP: the test server offers no STARTTLS).
``smtp_server.answers`` are DATA replies to give, in order, before
accepting again ("451 4.3.0 Try again later", "550 5.1.1 No such user").
"""

from __future__ import annotations

import email
import threading
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from tests.helpers.live_server import free_port


class Mailbox:
    """aiosmtpd's handler: every message accepted, as :class:`email.message.EmailMessage`, with its envelope."""

    def __init__(self):
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.answers: list[str] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.answers:
                answer = self.answers.pop(0)
                self.refused.append(answer)
                return answer
            message = email.message_from_bytes(envelope.original_content, policy=default)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Accepted"

    @property
    def messages(self):
        with self.lock:
            return [message for _, _, message in self.received]


class SmtpServer:
    def __init__(self, controller: Controller, mailbox: Mailbox):
        self.controller = controller
        self.mailbox = mailbox
        self.url = f"smtp://{controller.hostname}:{controller.port}?starttls=false"

    @property
    def messages(self):
        return self.mailbox.messages

    @property
    def answers(self):
        return self.mailbox.answers

    @property
    def received(self):
        return self.mailbox.received


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller, mailbox)
    finally:
        controller.stop()
