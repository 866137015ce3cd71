"""Tier schemes: how members qualify for tiers. Plugins contribute them.

A scheme (registered through ``register_tier_schemes``) names a metric and
gives, in **one set-based query**, every member's qualifying value:
:meth:`TierScheme.qualifying_values` returns a SQLAlchemy Core select of
``(member_id, value)`` over the program's members. What to do with the
values (thresholds, keep thresholds, downgrade policy, manual floors) is
the same for every scheme and lives in :mod:`loyalty.tiers.recalculate`.

A program stores its scheme's name and settings; the settings are what
the scheme's marshmallow ``schema`` (a :class:`TierSchemeSchema`) loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import Executable, Select, func, select

from loyalty import errors
from loyalty.models import Member
from loyalty.validation import invalid

DOWNGRADE_POLICIES = ("never", "at_recalculation", "after_grace")


class TierSchemeSchema(Schema):
    """The settings every scheme has: when members go down."""

    class Meta:
        unknown = RAISE
        ordered = True

    downgrade = fields.String(
        load_default="at_recalculation",
        validate=validate.OneOf(DOWNGRADE_POLICIES),
        metadata={
            "label": "Members go down a tier",
            "labels": {
                "never": "Never",
                "at_recalculation": "At the next recalculation (nightly)",
                "after_grace": "After a grace period below the keep threshold",
            },
            "description": "When a member whose value fell below their tier's keep threshold moves down.",
        },
    )
    grace_days = fields.Integer(
        load_default=30,
        strict=True,
        validate=validate.Range(min=1, max=3650),
        metadata={
            "label": "Grace period (days)",
            "description": "With a grace period: the days below the keep threshold before going down.",
        },
    )
    one_step_down = fields.Boolean(
        load_default=False,
        metadata={"label": "One tier down at a time", "description": "Go down at most one tier per recalculation."},
    )


class WindowedSchema(TierSchemeSchema):
    """Settings of a scheme that counts over a window of time."""

    window = fields.String(
        load_default="rolling",
        validate=validate.OneOf(("rolling", "calendar_year")),
        metadata={
            "label": "Counted over",
            "labels": {"rolling": "A rolling window of days", "calendar_year": "The calendar year (since 1 January)"},
            "description": "What period a member's value is counted over.",
        },
    )
    window_days = fields.Integer(
        load_default=365,
        strict=True,
        validate=validate.Range(min=1, max=3650),
        metadata={"label": "Rolling window (days)", "description": "The rolling window's length in days."},
    )


@dataclass(frozen=True)
class Window:
    start: datetime | None  # None: since the beginning
    #: When values counted now start dropping out: the end of a calendar
    #: year; None for a rolling window (they drop out day by day).
    resets_at: datetime | None


def window_of(settings: dict, now: datetime) -> Window:
    if settings.get("window") == "calendar_year":
        start = datetime(now.year, 1, 1, tzinfo=timezone.utc)
        return Window(start, datetime(now.year + 1, 1, 1, tzinfo=timezone.utc))
    if "window_days" in settings:
        return Window(now - timedelta(days=settings["window_days"]), None)
    return Window(None, None)


class TierScheme:
    """Base class for tier schemes; subclass it, or provide the same attributes.

    ``name`` (lower_snake_case, unique), ``title``, ``description``,
    ``metric`` (what the value counts: ``points``, ``amount``, ``orders``),
    ``schema`` (a :class:`TierSchemeSchema` subclass), and
    :meth:`qualifying_values`.
    """

    name: str = ""
    title: str = ""
    description: str = ""
    metric: str = "points"
    schema: type[Schema] = TierSchemeSchema

    def qualifying_values(self, program, settings: dict, now: datetime, member_ids=None) -> Select:
        """Every member of ``program`` with their value now: a Core select of ``(member_id, value)``.

        Members with nothing to count may be left out (their value is 0).
        One query for the whole program: the nightly recalculation runs it
        once. ``member_ids``: only these members (an event's, checked for an
        upgrade at once); filter as early as you can, so that an order does
        not pay for aggregating the whole program.
        """
        raise NotImplementedError

    def member_value(self, program, settings: dict, now: datetime, member_id: int) -> tuple[Executable, dict]:
        """One member's value now, as ``(statement, parameters)`` whose scalar is the value (``None``: 0).

        What every read of a member (the API's member, the widget's ``/me``)
        runs. This default narrows :meth:`qualifying_values` to the member,
        which builds the query on every call; a scheme whose value is one
        statement with parameters overrides it with a statement built once.
        """
        values = self.qualifying_values(program, settings, now, member_ids=[member_id]).subquery()
        return select(values.c.value).where(values.c.member_id == member_id), {}


def per_member(program, rows, onclause, value, member_ids=None) -> Select:
    """Every member of ``program`` (or ``member_ids``) with ``value`` aggregated over their ``rows`` (0 for none).

    The usual shape of :meth:`TierScheme.qualifying_values`: members outer-joined
    to what is counted, grouped by member.
    """
    query = (
        select(Member.id.label("member_id"), func.coalesce(value, 0).label("value"))
        .select_from(Member.__table__.outerjoin(rows, onclause))
        .where(Member.program_id == program.id)
        .group_by(Member.id)
    )
    return query.where(Member.id.in_(list(member_ids))) if member_ids is not None else query


def scheme_of(registry, name: str) -> TierScheme:
    scheme = registry.tier_schemes.get(name)
    if scheme is None:
        known = ", ".join(sorted(registry.tier_schemes)) or "none"
        raise errors.InvalidInput(f"no tier scheme {name!r} is installed (installed: {known})")
    return scheme


def load_settings(scheme: TierScheme, settings) -> dict:
    """Validate settings with the scheme's schema: the settings to store, or InvalidInput with the messages."""
    try:
        return scheme.schema().dump(scheme.schema().load(settings or {}))
    except ValidationError as exc:
        raise invalid(f"settings for tier scheme {scheme.name}", exc) from None
