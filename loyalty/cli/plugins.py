"""``loyalty plugins``: what is installed and what each plugin contributes."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from loyalty.registry import current_registry


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def plugins(as_json):
    """List installed plugins, their hooks and the types they contribute."""
    infos = current_registry().plugins()
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    for info in infos:
        origin = "built-in" if info.builtin else f"version {info.version or '?'}"
        click.echo(f"{info.name} ({origin})")
        for kind, names in sorted(info.contributes.items()):
            click.echo(f"    {kind.replace('_', ' ')}: {', '.join(sorted(names))}")
        other = [hook for hook in info.hooks if not hook.startswith("register_")]
        if other:
            click.echo(f"    hooks: {', '.join(other)}")


def register(main) -> None:
    main.add_command(plugins)
