"""``GET /widget/v1/loyalty.js``: the storefront widget, one file of plain JavaScript (no build step).

The file is the widget feature's (``loyalty/widget/static/loyalty.js``);
this only serves it, cacheable for a few minutes (a new release reaches
stores quickly) and loadable from any store's page.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

import loyalty.widget

FOLDER = Path(loyalty.widget.__file__).parent / "static"

blueprint = Blueprint("widget_script", __name__)


@blueprint.get("/widget/v1/loyalty.js")
def script():
    response = send_from_directory(FOLDER, "loyalty.js", mimetype="text/javascript", max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
