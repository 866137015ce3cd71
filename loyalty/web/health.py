"""``GET /healthz``: is the process up and can it reach its database?

Load balancers and the README's start command poll it; it answers 503
(not 500) when the database is down, so an orchestrator can tell "not
ready" from "broken".
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from loyalty import __version__
from loyalty.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="unavailable", database=type(exc).__name__, version=__version__), 503
    return jsonify(status="ok", database="ok", version=__version__)


def init_app(app) -> None:
    app.register_blueprint(bp)
