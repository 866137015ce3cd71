"""The program manager's admin at ``/admin``: one blueprint, its views in modules that attach routes.

People sign in (Flask-Login; passwords hashed, see :mod:`loyalty.access.admin_users`),
every form carries a CSRF token (Flask-WTF's ``CSRFProtect``, on every admin
POST), sign-in attempts are rate limited per address (Flask-Limiter, counting in
the database that every worker shares: :mod:`loyalty.access.rate_limits`), the
session cookie is ``Secure``, ``HttpOnly`` and ``SameSite=Lax``. Every view
is behind :func:`loyalty.admin.access.admin_view`, which also checks the
role (a viewer changes nothing) and the programs an account may see. The
templates are Jinja's, autoescaped: what stores send (names, e-mails,
notes) is shown as text.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from loyalty.access import rate_limits  # noqa: F401  (registers the database:// storage with the limits library)
from loyalty.admin.inputs import IdConverter, refuse_control_characters

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")
bp.before_request(refuse_control_characters)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_app(app) -> None:
    # Flask's own defaults exist already, so these are set, not defaulted. Browsers keep Secure cookies on
    # https and on http://127.0.0.1 / localhost; LOYALTY_ADMIN_COOKIE_SECURE=false for anything else over http.
    secure = bool(app.config.get("ADMIN_COOKIE_SECURE", True))
    app.config.update(SESSION_COOKIE_SECURE=secure, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True)
    app.config.setdefault("ADMIN_LOGIN_LIMIT", "10 per minute")
    # In the platform's database (loyalty.access.rate_limits), which every worker and machine shares; or e.g. Redis:
    # LOYALTY_RATELIMIT_STORAGE_URI='"redis://127.0.0.1:6379"'.
    app.config.setdefault("RATELIMIT_STORAGE_URI", "database://")
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please sign in."
    csrf.init_app(app)
    for name, blueprint in app.blueprints.items():  # machines (webhooks, the API) carry no cookie session
        if name != "admin":
            csrf.exempt(blueprint)
    limiter.init_app(app)
    app.url_map.converters["id"] = IdConverter  # before the blueprint's rules are made
    from loyalty.admin import (  # noqa: F401  (their routes)
        audit, auth, catalog, dashboard, finance, members, operations, rules, settings, tiers,
    )

    app.register_blueprint(bp)


@login_manager.user_loader
def _load_user(user_id: str):
    """The account of a session or remember-me cookie (``id:token``, see ``AdminUser.get_id``), if the token is
    still the account's: signing out and a password change replace it, which ends every older cookie."""
    from loyalty.db import db, is_id
    from loyalty.models import AdminUser

    number, _, token = user_id.partition(":")
    known = number.isascii() and number.isdigit() and len(number) <= 19 and is_id(int(number)) and token
    user = db.session.get(AdminUser, int(number)) if known else None
    if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user
