"""A program's referral terms: what each side gets, what qualifies, the review period, the link.

Stored on the program as the JSON :class:`TermsSchema` accepted, so that
the CLI, the API and (later) the admin validate them in one place. Fraud
checks keep their per-program settings under ``checks``, each validated
by the check's own schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from sqlalchemy.orm import object_session

from loyalty import errors, money
from loyalty.ledger import MAX_AMOUNT
from loyalty.models import Program
from loyalty.rewards import get_reward
from loyalty.validation import invalid


class TermsSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.Boolean(load_default=True, metadata={"description": "Attribute and reward referrals."})
    referrer_points = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_AMOUNT),
        metadata={"description": "Points for the member who referred, once the referral is rewarded."},
    )
    friend_points = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_AMOUNT),
        metadata={"description": "Points for the referred friend, at the same moment."},
    )
    friend_reward = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "A catalog reward (its id) given to the friend for no points, at the same moment."},
    )
    min_order = fields.Decimal(
        as_string=True,
        allow_nan=False,
        load_default=Decimal(0),
        validate=validate.Range(min=0),
        metadata={"description": "The smallest qualifying order, after discounts, before tax and shipping."},
    )
    first_order_only = fields.Boolean(
        load_default=True,
        metadata={
            "description": "Only the friend's first order decides the referral; otherwise each order "
            "is tried until one passes the checks."
        },
    )
    monthly_cap = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "Rewarded referrals per referrer per calendar month (UTC); none: no cap."},
    )
    review_days = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "Days after the qualifying order before rewarding; none: the return window."},
    )
    link = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "The store's share link, with {code} where the code goes."},
    )
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        load_default=dict,
        metadata={"description": "Fraud-check settings by check name (enabled, action, the check's own)."},
    )

    @validates("link")
    def _link(self, value, **_):
        if value is None:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("must be an http(s) URL")
        if value.count("{code}") != 1:
            raise ValidationError("must contain {code} once, where the member's code goes")


@dataclass(frozen=True)
class Terms:
    enabled: bool
    referrer_points: int
    friend_points: int
    friend_reward: int | None
    min_order: Decimal
    first_order_only: bool
    monthly_cap: int | None
    review_days: int | None
    link: str | None
    checks: dict


def stored_terms(program: Program) -> Terms:
    """The program's terms as stored, switched on or off (defaults if it has none)."""
    return Terms(**TermsSchema().load(program.referral_terms or {}))


def terms_of(program: Program) -> Terms | None:
    """The program's terms, or ``None`` if referrals are not set up (or switched off)."""
    if not program.referral_terms:
        return None
    terms = stored_terms(program)
    return terms if terms.enabled else None


def review_days(program: Program, terms: Terms) -> int:
    return terms.review_days if terms.review_days is not None else program.return_window_days


def set_terms(program: Program, registry, **changes) -> Terms:
    """Change some of the terms (the rest stay); invalid terms raise and change nothing."""
    current = dict(program.referral_terms or {})
    changed_checks = set()
    if "checks" in changes:  # check settings merge per check: setting one leaves the others
        checks = dict(current.get("checks") or {})
        for name, settings in (changes.pop("checks") or {}).items():
            checks[name] = {**checks.get(name, {}), **(settings or {})}
            changed_checks.add(name)
        current["checks"] = checks
    current.update(changes)
    try:
        loaded = TermsSchema().load(current)
    except ValidationError as exc:
        raise invalid("referral terms", exc) from None
    money.to_decimal(loaded["min_order"], program.currency, field="min_order")  # no fractions of a cent
    if loaded["friend_reward"] is not None:
        get_reward(object_session(program), program, loaded["friend_reward"])  # this program's, or UnknownReward
    loaded["checks"] = check_settings(registry, loaded["checks"], changed_checks)
    program.referral_terms = TermsSchema().dump(loaded)
    return Terms(**loaded)


def check_settings(registry, checks: dict, changed: set) -> dict:
    """Each check's settings as its schema accepted them; a bad setting, or a change to an unknown check, raises.

    Settings of a check whose plugin is no longer installed are kept as
    they were (it may come back) unless this change names it.
    """
    accepted = {}
    for name, settings in checks.items():
        check = registry.referral_checks.get(name)
        if check is None and name not in changed:
            accepted[name] = settings
            continue
        if check is None:
            known = ", ".join(sorted(registry.referral_checks)) or "none"
            raise errors.InvalidInput(f"no referral check {name!r}; installed: {known}")
        schema = check.schema()
        try:
            accepted[name] = schema.dump(schema.load(settings))
        except ValidationError as exc:
            raise invalid(f"settings for check {name}", exc, within=name) from None
    return accepted


def link_for(program: Program, code: str) -> str | None:
    """The member's share link, if the program has a link pattern."""
    pattern = (program.referral_terms or {}).get("link")
    return pattern.replace("{code}", quote(code, safe="")) if pattern else None
