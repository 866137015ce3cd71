"""``loyalty email …``: switch a program's e-mail to members on and off, and see how it is doing."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.messages import mailing
from loyalty.models import Delivery
from loyalty.programs.program import get_program
from loyalty.registry import current_registry

group = AppGroup("email", help="E-mail to members (welcome, points, tiers, rewards) over SMTP_URL.")


@group.command("enable")
@click.option("--program", "program_slug", required=True)
@click.option("--from", "from_address", required=True, help="The sender's address, e.g. rewards@shop.example.")
@click.option("--name", "from_name", default=None, help="The sender's name (default: the program's name).")
@click.option("--reply-to", "reply_to", default=None, help="Where members' answers go.")
@transactional
def enable(program_slug, from_address, from_name, reply_to):
    """Send the program's members e-mail from this address (again, with new settings, if it was on)."""
    program = get_program(db.session, program_slug)
    row = mailing.enable(
        db.session,
        program,
        registry=current_registry(),
        clock=current_clock(),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to,
    )
    click.echo(f"E-mail to the members of {program.slug} is on, from {row.config['from_address']}.")
    _warnings()


@group.command("disable")
@click.option("--program", "program_slug", required=True)
@transactional
def disable(program_slug):
    """Stop e-mail to the program's members (its settings and templates are kept)."""
    program = get_program(db.session, program_slug)
    if mailing.disable(db.session, program, clock=current_clock()):
        click.echo(f"E-mail to the members of {program.slug} is off.")
    else:
        click.echo(f"E-mail to the members of {program.slug} was not on.")


@group.command("status")
@click.option("--program", "program_slug", required=True)
@transactional
def status(program_slug):
    """SMTP (never the password), the program's sender, and its e-mails by status."""
    program = get_program(db.session, program_slug)
    channel = mailing.channel_of(current_registry())
    click.echo(f"smtp:     {channel.status(current_app.config)}")
    row = mailing.destination(db.session, program)
    if row is None:
        click.echo("program:  e-mail was never switched on (loyalty email enable)")
        return
    sender = row.config.get("from_address")
    click.echo(f"program:  {'on' if row.status == 'active' else 'off'}, from {sender}")
    if row.disabled_reason and row.status != "active":
        click.echo(f"          {row.disabled_reason}")
    counts = dict(
        db.session.execute(
            select(Delivery.status, func.count()).where(Delivery.destination_id == row.id).group_by(Delivery.status)
        ).all()
    )
    click.echo("e-mails:  " + (", ".join(f"{counts[name]} {name}" for name in sorted(counts)) or "none yet"))
    _warnings()


def _warnings() -> None:
    if not current_app.config.get("PUBLIC_URL"):
        click.echo("Note: LOYALTY_PUBLIC_URL is not set, so e-mails carry no unsubscribe link; set it.")
    reason = mailing.channel_of(current_registry()).unavailable(current_app.config)
    if reason:
        click.echo(f"Note: {reason}.")


def register(main) -> None:
    main.add_command(group)
