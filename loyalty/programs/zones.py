"""A program's time zone: how its people read and type times (storage stays UTC).

Zones are IANA names (``Europe/Paris``, ``America/New_York``) read with the
standard library's :mod:`zoneinfo`, from the system's zone database or,
where a system has none, the ``tzdata`` package.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

from loyalty import errors


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every zone a program may choose, UTC first, then by name (the ``posix/`` and ``right/`` copies left out)."""
    names = {
        name for name in available_timezones() if "/" in name and not name.startswith(("posix/", "right/", "Etc/"))
    }
    return ("UTC", *sorted(names))


def check_timezone(name) -> str:
    """``name`` if it is a zone a program may have; InvalidInput otherwise."""
    if not isinstance(name, str) or name not in zone_names():
        raise errors.InvalidInput(
            f"unknown time zone {str(name)[:64]!r}: use an IANA name such as Europe/Paris or America/New_York"
        )
    return name


def zone(program) -> ZoneInfo:
    return ZoneInfo(program.timezone or "UTC")


def local(moment: datetime | None, program) -> datetime | None:
    """A stored (UTC) moment in the program's zone."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(zone(program))
    except OverflowError:  # within hours of year 1 or 9999: shown in its own offset
        return moment


def from_local(naive: datetime, program) -> datetime:
    """A wall-clock time typed in the program's zone, as an aware moment.

    A time that does not exist (in the hour skipped when clocks go forward)
    or exists twice (the hour repeated when they go back) is read as
    :mod:`zoneinfo` does with ``fold=0``: the earlier of the two offsets.
    """
    return naive.replace(tzinfo=zone(program))
