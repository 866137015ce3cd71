"""The ``loyalty`` command.

A Flask CLI group, so every command runs inside the app (configuration,
database) and Flask's own ``run`` and Flask-Migrate's ``db`` commands come
with it. Commands are thin: they parse, call a service, print.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from loyalty.cli import demo, members, points, programs, serve, verify


def _create_app():
    from loyalty.app import create_app

    return create_app()


main = FlaskGroup(
    name="loyalty",
    create_app=_create_app,
    load_dotenv=False,
    set_debug_flag=False,
    help="Loyalty and referral program platform.",
)

for module in (programs, members, points, verify, demo, serve):
    module.register(main)
