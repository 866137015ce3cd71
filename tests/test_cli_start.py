"""What the ``loyalty`` command imports to start: none of the heavy libraries only a few commands need (issue 19).

Commands run on the app without its routes (:func:`loyalty.app.create_command_app`),
and the libraries below are imported where they are used. Each check runs
the console's ``main`` in a fresh interpreter and reads ``sys.modules``
after it: a module imported at the top of a command module, a plugin or
the app factory again fails here (no timing: what is imported is what
costs the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Each a tenth of a second or more, and needed by only some commands (or only by the served app).
DEFERRED = (
    "alembic",  # loyalty db (Flask-Migrate)
    "flask_migrate",
    "flask_smorest",  # the REST and member APIs
    "apispec",
    "loyalty.api",
    "loyalty.admin",  # the admin, with Flask-WTF, Flask-Login, Flask-Limiter
    "flask_wtf",
    "flask_login",
    "flask_limiter",
    "loyalty.webhooks.intake",
    "stripe",  # the Stripe adapter and reward, when they verify or issue
    "requests",
    "httpx",  # outbound webhooks, when one is sent; the demo's receiver check
    "rich",
    "smtplib",  # e-mail, when one is sent
    "gunicorn",  # loyalty serve
)

SCRIPT = """
import json, sys
from loyalty.console import main
try:
    main(sys.argv[2:], prog_name="loyalty")
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def run_console(tmp_path, database_url, *args) -> tuple[int, set[str]]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOYALTY_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
    env.pop("LOYALTY_PLUGINS", None)
    report = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", SCRIPT, str(report), *args], env=env, check=True, capture_output=True)
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"])


@pytest.mark.parametrize(
    "args",
    [("--help",), ("members", "list", "--program", "acme"), ("inbox", "list"), ("worker", "--help")],
    ids=" ".join,
)
def test_a_command_starts_without_the_heavy_modules(args, program, session, database_url, tmp_path):
    session.commit()
    code, modules = run_console(tmp_path, database_url, *args)
    assert code in (0, None)
    assert sorted(name for name in DEFERRED if name in modules) == []


@pytest.mark.parametrize("args", [("--help",), ("members", "list", "--program", "acme")], ids=" ".join)
def test_a_command_that_needs_no_plugin_does_not_load_them(args, program, session, database_url, tmp_path):
    """The plugins load when a command first asks for one (a server at its start): their services and marshmallow."""
    session.commit()
    code, modules = run_console(tmp_path, database_url, *args)
    assert code in (0, None)
    loaded = {"marshmallow", "loyalty.plugin_api", "loyalty.earning.pipeline", "loyalty.referrals"} & modules
    assert sorted(loaded | {name for name in modules if name.startswith("loyalty.plugins.")}) == []
    code, modules = run_console(tmp_path, database_url, "plugins")
    assert code in (0, None) and {"marshmallow", "loyalty.plugins.earning.points_per_currency"} <= modules


def test_the_commands_that_need_them_still_get_them(program, session, database_url, tmp_path):
    """``loyalty db`` brings Flask-Migrate and Alembic; ``loyalty routes`` the whole app, routes and all."""
    session.commit()
    code, modules = run_console(tmp_path, database_url, "db", "current")
    assert code in (0, None) and {"flask_migrate", "alembic"} <= modules
    code, modules = run_console(tmp_path, database_url, "routes")
    assert code in (0, None) and {"loyalty.admin", "loyalty.api", "flask_smorest", "loyalty.webhooks.intake"} <= modules


def test_the_lazy_commands_are_listed_as_their_modules_register_them():
    """Every command a module registers has its line in the tables, the same as its own help's (``--help`` unchanged)."""
    import importlib
    import inspect

    import click

    from loyalty import cli, webhooks

    tables = [(f"loyalty.cli.{module}", name, summary) for name, module, summary in cli.COMMANDS]
    tables += [("loyalty.webhooks.cli", name, summary) for name, summary in webhooks.COMMANDS]
    listed = {name: (module, summary) for module, name, summary in tables}
    assert len(listed) == len(tables)  # no name twice
    registered = {}
    for module in sorted({module for module, _, _ in tables} | {f"loyalty.cli.{m}" for m in _command_modules()}):
        group = click.Group()
        importlib.import_module(module).register(group)
        for name, command in group.commands.items():
            first = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
            registered[name] = (module, first)
    assert listed == registered


def _command_modules() -> list[str]:
    """The modules of loyalty.cli that define commands (a ``register`` function)."""
    from pathlib import Path

    import loyalty.cli

    folder = Path(loyalty.cli.__file__).parent
    return [path.stem for path in folder.glob("*.py") if "\ndef register(" in path.read_text()]
