"""``GET /``: where a person who opens the platform's address can go from here.

The admin's sign-in for program managers, the REST API's documentation
for developers, the health check for operators. Nothing about any program
is shown: the page is public.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from loyalty import __version__

bp = Blueprint("home", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")


@bp.get("/")
def home():
    return render_template("web/home.html", version=__version__)


def init_app(app) -> None:
    app.register_blueprint(bp)
