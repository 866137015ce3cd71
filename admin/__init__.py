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

from loyalty.admin import (  # noqa: F401  (importing a view module attaches its routes to the blueprint)
    audit,
    auth,
    catalog,
    dashboard,
    email,
    errors,
    finance,
    labels,
    members,
    operations,
    outbound,
    rules,
    settings,
    tiers,
    times,
    widget,
)
from loyalty.admin.blueprint import bp, csrf, limiter, login_manager
from loyalty.admin.inputs import IdConverter


def init_app(app) -> None:
    # Flask's own defaults exist already, so these are set, not defaulted. Browsers keep Secure cookies on
    # https and on http://127.0.0.1 / localhost; LOYALTY_ADMIN_COOKIE_SECURE=false for anything else over http.
    secure = bool(app.config.get("ADMIN_COOKIE_SECURE", True))
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
    )
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
    app.register_blueprint(bp)
