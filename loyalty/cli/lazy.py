"""Commands imported only when they run, so that every other command starts without them.

``loyalty --help`` lists a :class:`LazyCommand` by the summary it is
given; running it (or asking its own ``--help``) loads the real command
and hands it the arguments. Every command of :mod:`loyalty.cli` and of
the webhooks package is one (their modules, and the services they
import, were a third of the start), so is Flask-Migrate's ``db`` (it
brings Alembic), and so is every ``flask.commands`` entry point of an
installed package.
"""

from __future__ import annotations

from collections.abc import Callable

import click


class LazyCommand(click.Command):
    """Stands in for the command ``load()`` returns until that command is needed."""

    def __init__(self, name: str, load: Callable[[], click.Command], summary: str):
        # As help, not short_help: click shortens it for the list exactly as it shortens the real command's.
        super().__init__(name, help=summary)
        self._load = load
        self._command: click.Command | None = None

    @property
    def command(self) -> click.Command:
        """The real command (imported on first use)."""
        if self._command is None:
            self._command = self._load()
        return self._command

    def make_context(self, info_name, args, parent=None, **extra):
        # click invokes the context's command: the real one, with its own options, arguments and subcommands.
        return self.command.make_context(info_name, args, parent=parent, **extra)


def serves_requests(command: click.Command) -> click.Command:
    """Mark a command that needs the app's routes (a server, a test client): the console attaches them first.

    Commands run on the app without routes (:func:`loyalty.app.create_command_app`), which starts in a
    fraction of the time; the few that answer or make requests get the whole app (:mod:`loyalty.console`).
    """
    command.serves_requests = True
    return command


def registered_by(module: str, name: str, summary: str) -> LazyCommand:
    """The command ``name`` that ``module``'s ``register(group)`` adds, imported when it runs.

    The module's ``register`` stays the one place that names its commands: the stand-in asks it.
    """

    def load() -> click.Command:
        import importlib

        scratch = click.Group()
        importlib.import_module(module).register(scratch)
        return scratch.commands[name]

    return LazyCommand(name, load, summary)
