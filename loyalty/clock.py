"""The clock, injectable so that tests (and the demo) can move time.

Services never call ``datetime.now()`` themselves: they take a clock, and
the application hands them the one in ``app.config["CLOCK"]``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that stands still until moved; for tests and simulations."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FrozenClock.set needs a timezone-aware moment")
        self._now = moment.astimezone(timezone.utc)


def current_clock() -> Clock:
    """The application's clock when inside an app context, else the real one."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config.get("CLOCK") or SystemClock()
    return SystemClock()
