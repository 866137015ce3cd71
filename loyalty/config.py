"""Configuration from the environment.

Everything has a working default, so ``loyalty run`` works on a fresh
machine with nothing set:

``DATABASE_URL``
    SQLAlchemy URL. Default: a SQLite file ``loyalty.db`` in the instance
    folder. ``postgresql://`` and ``postgres://`` URLs are read as
    ``postgresql+psycopg://`` (psycopg 3).
``SECRET_KEY``
    Signs sessions. Default: a random key created once and kept in the
    instance folder, so restarts do not sign everyone out.
``LOYALTY_INSTANCE_PATH``
    Where the instance folder (SQLite file, secret key) lives.
``SMTP_URL``
    Where e-mail to members is sent (:mod:`loyalty.plugins.channels.email`):
    ``smtp://user:password@host:587`` (STARTTLS, required),
    ``smtps://user:password@host:465`` (TLS from the start), or
    ``smtp://host:25?starttls=false`` for a relay on the same machine or a
    test server (no TLS: only where nothing travels over a network). Unset:
    no e-mail is sent (deliveries are recorded as skipped, and the admin
    says so). Read as is, without the ``LOYALTY_`` prefix, as mail tools
    name it; it holds a password, so nothing logs or shows it whole.
``LOYALTY_*``
    Any other Flask setting, e.g. ``LOYALTY_WEBHOOK_MAX_BYTES``; values are
    parsed as JSON where they can be (Flask's ``from_prefixed_env``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'loyalty.db'}"
    return normalize_url(url)


def normalize_url(url: str) -> str:
    """Read plain PostgreSQL URLs as psycopg 3 ones (SQLAlchemy's default driver is psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment(instance_path: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SECRET_KEY": secret_key(instance_path),
        "SMTP_URL": os.environ.get("SMTP_URL", "").strip() or None,
    }
