"""A program's widget: on or off, its secret, the store origins that may embed it, its looks and texts.

The secret signs the member tokens the store makes for its shoppers
(:mod:`loyalty.widget.tokens`). It is shown once, when made (``enable``
the first time, ``rotate``), and masked everywhere after; enabling again
keeps it, so re-running a setup script never breaks the store's tokens.
Rotating replaces it at once: tokens signed with the old one are refused
from then on, which is what a leaked secret needs.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.models import WIDGET_JOINS, Program, WidgetSettings
from loyalty.widget.texts import appearance_with_defaults, check_appearance, check_texts, texts_with_defaults

SECRET_PREFIX = "lw_"
MAX_ORIGINS = 20


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def masked(secret: str | None) -> str:
    """``lw_…a1b2``: enough to tell two secrets apart, nothing to sign with."""
    return f"{SECRET_PREFIX}…{secret[-4:]}" if secret else "none"


def settings_of(session: Session, program: Program) -> WidgetSettings | None:
    return session.get(WidgetSettings, program.id)


def check_origin(text) -> str:
    """A store origin as browsers send it in ``Origin``: ``https://shop.example`` (scheme, host, port; no path).

    ``http`` is accepted for a store's development machine; paths, queries,
    credentials and wildcards are refused, because an origin that does not
    look like one browsers send would never match anything.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > 255 or "\x00" in text:
        raise errors.InvalidInput("an origin is a URL like https://shop.example", fields={"origins": ["invalid"]})
    value = text.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
        or "*" in value
    ):
        raise errors.InvalidInput(
            f"{text!r} is not an origin: write the scheme and host only, like https://shop.example",
            fields={"origins": [f"{text!r} is not an origin like https://shop.example"]},
        )
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def check_origins(origins) -> list[str]:
    if not isinstance(origins, (list, tuple)):
        raise errors.InvalidInput("origins must be a list", fields={"origins": ["must be a list"]})
    cleaned = list(dict.fromkeys(check_origin(origin) for origin in origins))
    if len(cleaned) > MAX_ORIGINS:
        raise errors.InvalidInput(f"at most {MAX_ORIGINS} origins", fields={"origins": [f"at most {MAX_ORIGINS}"]})
    return cleaned


def _check_store_url(name: str, value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parts = urlsplit(value.strip()) if isinstance(value, str) and "\x00" not in value else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
        raise errors.InvalidInput(f"{name} must be an http(s) URL", fields={name: ["must be an http(s) URL"]})
    return value.strip()


def enable(session: Session, program: Program, *, origins, clock: Clock) -> str | None:
    """Switch the widget on for these origins (added to those already allowed).

    Returns the new secret when one was made (the first time), else ``None``:
    an existing secret is kept and not shown again (``rotate`` makes a new one).
    """
    cleaned = check_origins(origins)
    if not cleaned:
        raise errors.InvalidInput(
            "give the store's origin (--origin https://shop.example): browsers call from there",
            fields={"origins": ["at least one origin"]},
        )
    now = clock.now()
    settings = settings_of(session, program)
    if settings is None:
        secret = new_secret()
        settings = WidgetSettings(
            program_id=program.id,
            enabled=True,
            secret=secret,
            origins=cleaned,
            appearance={},
            texts={},
            joins="widget",
            secret_created_at=now,
            updated_at=now,
        )
        session.add(settings)
        session.flush()
        return secret
    settings.origins = list(dict.fromkeys([*settings.origins, *cleaned]))[:MAX_ORIGINS]
    settings.enabled = True
    settings.updated_at = now
    session.flush()
    return None


def _existing(session: Session, program: Program) -> WidgetSettings:
    settings = settings_of(session, program)
    if settings is None:
        raise errors.NotFound(f"the widget of {program.slug} was never enabled: loyalty widget enable --program …")
    return settings


def rotate(session: Session, program: Program, *, clock: Clock) -> str:
    """A new secret, returned once; tokens signed with the old one are refused from now on."""
    settings = _existing(session, program)
    settings.secret = new_secret()
    settings.secret_created_at = settings.updated_at = clock.now()
    session.flush()
    return settings.secret


def disable(session: Session, program: Program, *, clock: Clock) -> WidgetSettings:
    """Switch the widget off: the member API answers 403 until it is enabled again (settings are kept)."""
    settings = _existing(session, program)
    settings.enabled = False
    settings.updated_at = clock.now()
    session.flush()
    return settings


def update(session: Session, program: Program, *, clock: Clock, **changes) -> WidgetSettings:
    """Change the widget's origins, appearance, texts, store links or join policy; all checked before any is set.

    ``appearance`` and ``texts`` replace the program's overrides as a whole
    (what equals a default is not stored).
    """
    settings = _existing(session, program)
    problems: dict[str, list[str]] = {}
    accepted: dict = {}
    for name, value in changes.items():
        try:
            if name == "origins":
                accepted[name] = check_origins(value)
            elif name in ("appearance", "texts"):
                checked, wrong = (check_appearance if name == "appearance" else check_texts)(value)
                if wrong:
                    problems.update({f"{name}.{key}": [message] for key, message in wrong.items()})
                accepted[name] = checked
            elif name in ("sign_in_url", "sign_up_url"):
                accepted[name] = _check_store_url(name, value)
            elif name == "joins":
                if value not in WIDGET_JOINS:
                    raise errors.InvalidInput("", fields={name: [f"must be one of {', '.join(WIDGET_JOINS)}"]})
                accepted[name] = value
            else:
                raise errors.InvalidInput("", fields={name: ["no such setting"]})
        except errors.InvalidInput as exc:
            problems.update(exc.details.get("fields") or {name: [exc.message]})
    if problems:
        described = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items())
        raise errors.InvalidInput(f"invalid widget settings: {described}", fields=problems)
    for name, value in accepted.items():
        setattr(settings, name, value)
    settings.updated_at = clock.now()
    session.flush()
    return settings


def public_config(settings: WidgetSettings) -> dict:
    """What the widget needs to draw itself (``GET …/program``): never the secret."""
    return {
        "appearance": appearance_with_defaults(settings.appearance),
        "texts": texts_with_defaults(settings.texts),
        "sign_in_url": settings.sign_in_url,
        "sign_up_url": settings.sign_up_url,
        "joins": settings.joins,
    }
