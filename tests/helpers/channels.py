"""A notification channel for tests: it records every message and answers what the test scripts."""

from __future__ import annotations

import threading
from datetime import timedelta

from loyalty.plugin_api import NotificationChannel, Outcome, Template, hookimpl


class Recorder(NotificationChannel):
    """Keeps every message it was given; answers from ``script`` (outcomes, in order), then "delivered"."""

    def __init__(self, name="recorder", audience="program", templates=None, digests=None):
        super().__init__(
            name=name, title=name.title(), audience=audience, templates=templates or {}, digests=digests or {}
        )
        self.messages = []
        self.script: list[Outcome | Exception] = []
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.messages.append(message)
            answer = self.script.pop(0) if self.script else Outcome.delivered(200)
        if isinstance(answer, Exception):
            raise answer
        return answer


RECORDER = Recorder()
TO_MEMBERS = Recorder(
    "to_members",
    audience="member",
    templates={
        "points.earned": Template("You earned {{ points }} points", "Hello {{ member.name }}: {{ points }} points."),
        "member.enrolled": Template("Welcome to {{ program.name }}", "Welcome, {{ member.name }}."),
    },
    digests={"points.earned": timedelta(hours=1)},
)


class Plugin:
    """Registers both recorders (``@pytest.mark.plugins(channels.Plugin())``)."""

    @hookimpl
    def register_notification_channels(self, register):
        register(RECORDER)
        register(TO_MEMBERS)


def reset() -> None:
    for recorder in (RECORDER, TO_MEMBERS):
        recorder.messages.clear()
        recorder.script.clear()
