"""``/api/v1/docs``: the OpenAPI document in Swagger UI, served from this site.

Swagger UI comes from the ``swagger-ui-bundle-v2`` package (its files, a
pinned release, installed with the platform), not from a CDN: nothing is
loaded from another host, so the page works offline and under the
Content-Security-Policy of :mod:`loyalty.web.headers` (``'self'`` only). The
page has no inline script: ``static/docs.js`` starts Swagger UI with the
document's address, which the page gives in a ``data-`` attribute.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, render_template_string, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

#: The bundle's files the page uses (its index.html and initializer, which point at a demo API, are not served).
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png")
OWN_FILES = ("docs.js",)

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
  <link rel="icon" type="image/png" href="{{ static('favicon-32x32.png') }}">
  <link rel="stylesheet" href="{{ static('swagger-ui.css') }}">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
  <script src="{{ static('swagger-ui-bundle.js') }}"></script>
  <script src="{{ static('docs.js') }}"></script>
</body>
</html>
"""


def blueprint(prefix: str, api) -> Blueprint:
    bp = Blueprint("api_docs", __name__, url_prefix=f"{prefix}/docs")

    @bp.get("")
    def page():
        return render_template_string(
            PAGE,
            title=api.spec.title,
            spec_url=url_for("api-docs.openapi_json"),
            static=lambda name: url_for("api_docs.static_file", filename=name),
        )

    @bp.get("/static/<path:filename>")
    def static_file(filename):
        if filename in SWAGGER_FILES:
            return send_from_directory(Path(str(swagger_ui_path)), filename)
        if filename in OWN_FILES:
            return send_from_directory(Path(__file__).parent / "static", filename)
        abort(404)

    return bp
