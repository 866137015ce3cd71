"""What every command shares: one transaction per command, errors as messages."""

from __future__ import annotations

import functools
import getpass
import json
from datetime import date, datetime, timezone

import click

from loyalty import errors
from loyalty.db import db
from loyalty.reporting.periods import midnight


def transactional(func):
    """Run the command in one transaction: commit on success; on a domain
    error roll back (so nothing changes) and exit 1 with the error's code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            db.session.commit()
            return result
        except errors.LoyaltyError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.message} [{exc.code}]") from None
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def actor() -> str:
    """Who is at the terminal, for the ledger's audit columns."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


class Moment(click.ParamType):
    """A date (midnight UTC) or an ISO 8601 date-time (UTC unless it says otherwise)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            if len(value) == 10:
                return midnight(date.fromisoformat(value))
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (2026-12-31) or ISO date-time", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


MOMENT = Moment()


def json_object(text: str | None, option: str) -> dict | None:
    """An option's JSON object (``--config``, ``--settings``); anything else is refused with the option's name."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.InvalidInput(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise errors.InvalidInput(f"{option} must be a JSON object")
    return value
