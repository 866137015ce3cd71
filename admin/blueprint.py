"""The admin's blueprint and the extensions its views share: sign-in, CSRF, the sign-in rate limit.

Apart from the package's ``init_app`` so that each view module can attach
its routes to ``bp`` without importing the package that imports it.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from loyalty.access import rate_limits  # noqa: F401  (registers the database:// storage with the limits library)
from loyalty.admin.inputs import refuse_control_characters
from loyalty.db import db, is_id
from loyalty.models import AdminUser

bp = Blueprint(
    "admin",
    "loyalty.admin",
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.before_request(refuse_control_characters)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@login_manager.user_loader
def _load_user(user_id: str):
    """The account of a session or remember-me cookie (``id:token``, see ``AdminUser.get_id``), if the token is
    still the account's: signing out and a password change replace it, which ends every older cookie."""
    number, _, token = user_id.partition(":")
    known = number.isascii() and number.isdigit() and len(number) <= 19 and is_id(int(number)) and token
    user = db.session.get(AdminUser, int(number)) if known else None
    if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user
