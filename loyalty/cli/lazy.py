"""Commands imported only when they run, so that every other command starts without them.

``loyalty --help`` lists a :class:`LazyCommand` by the short help it is
given; running it (or asking its own ``--help``) loads the real command
and hands it the arguments. Flask-Migrate's ``db`` is one (it brings
Alembic, a fifth of a second for every command otherwise), and so is
every ``flask.commands`` entry point of an installed package.
"""

from __future__ import annotations

from collections.abc import Callable

import click


class LazyCommand(click.Command):
    """Stands in for the command ``load()`` returns until that command is needed."""

    def __init__(self, name: str, load: Callable[[], click.Command], short_help: str):
        super().__init__(name, short_help=short_help, help=short_help)
        self._load = load

    def make_context(self, info_name, args, parent=None, **extra):
        # click invokes the context's command: the real one, with its own options, arguments and subcommands.
        return self._load().make_context(info_name, args, parent=parent, **extra)


def serves_requests(command: click.Command) -> click.Command:
    """Mark a command that needs the app's routes (a server, a test client): the console attaches them first.

    Commands run on the app without routes (:func:`loyalty.app.create_command_app`), which starts in a
    fraction of the time; the few that answer or make requests get the whole app (:mod:`loyalty.console`).
    """
    command.serves_requests = True
    return command
