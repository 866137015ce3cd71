"""``loyalty api-keys …``: keys for the REST API, one program each."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.access.api_keys import create_key, list_keys, revoke_key
from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import API_SCOPES
from loyalty.programs.program import get_program

group = AppGroup("api-keys", help="API keys for storefronts and headless shops (Authorization: Bearer …).")


@group.command("create")
@click.option("--program", "program_slug", required=True)
@click.option("--name", required=True, help="What uses the key, e.g. storefront.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(API_SCOPES),
    default=API_SCOPES,
    show_default=True,
    help="Repeat for several; read-only keys cannot move points.",
)
@transactional
def create(program_slug, name, scopes):
    """Create a key. It is shown once: copy it now."""
    program = get_program(db.session, program_slug)
    new = create_key(db.session, program, name=name, scopes=scopes, clock=current_clock())
    click.echo(f"API key {new.key.prefix} ({new.key.name}, {new.key.scopes}) for {program.slug}:")
    click.echo(f"  {new.secret}")
    click.echo("It is shown only now; send it as: Authorization: Bearer <key>")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """A program's keys (prefixes only), with scopes, last use and revocation."""
    program = get_program(db.session, program_slug)
    for key in list_keys(db.session, program):
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never used"
        state = f"revoked {key.revoked_at.isoformat(timespec='seconds')}" if key.revoked_at else "active"
        click.echo(f"{key.prefix:12} {key.name:20} {key.scopes:11} {state:30} {used}")


@group.command("revoke")
@click.option("--program", "program_slug", required=True)
@click.argument("prefix")
@transactional
def revoke(program_slug, prefix):
    """Revoke a key at once (by its prefix, lk_…)."""
    key = revoke_key(db.session, get_program(db.session, program_slug), prefix, clock=current_clock())
    click.echo(f"API key {key.prefix} ({key.name}) is revoked.")


def register(main) -> None:
    main.add_command(group)
