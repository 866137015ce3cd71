"""``loyalty programs …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models.program import CLAWBACK_POLICIES
from loyalty.programs.expiry import POLICIES
from loyalty.programs.program import create_program, get_program, list_programs, update_program

group = AppGroup("programs", help="Create and list loyalty programs.")


timezone_option = click.option(
    "--timezone",
    help="The store's IANA time zone, e.g. Europe/Paris: the admin shows times and takes dates in it. Default UTC.",
)


@group.command("create")
@click.option("--slug", required=True, help="Short name used in URLs and commands, e.g. acme.")
@click.option("--name", required=True, help="The program's display name.")
@click.option("--currency", required=True, help="The store's ISO 4217 currency, e.g. USD.")
@click.option(
    "--clawback-policy",
    type=click.Choice(CLAWBACK_POLICIES),
    default="allow_negative",
    show_default=True,
    help="When a refund claws back points already spent: go negative, or stop at zero.",
)
@click.option(
    "--return-window-days",
    type=int,
    default=0,
    show_default=True,
    help="Days order points stay pending before they can be spent (0: at once).",
)
@timezone_option
@transactional
def create(slug, name, currency, clawback_policy, return_window_days, timezone):
    """Create a program with its system accounts."""
    program = create_program(
        db.session,
        slug=slug,
        name=name,
        currency=currency,
        clawback_policy=clawback_policy,
        return_window_days=return_window_days,
        timezone=timezone or "UTC",
        clock=current_clock(),
    )
    click.echo(f"Created program {program.slug} ({program.name}, {program.currency}).")


@group.command("update")
@click.option("--slug", required=True)
@click.option("--name")
@click.option("--clawback-policy", type=click.Choice(CLAWBACK_POLICIES))
@click.option("--return-window-days", type=int)
@click.option(
    "--expiry",
    "expiry_policy",
    type=click.Choice(POLICIES),
    help="When points expire: per lot (after_days, end_of_month, end_of_year) or after inactivity.",
)
@click.option("--expiry-after", type=int, help="Days (after_days, inactivity), months or years.")
@click.option(
    "--expiring-notice-days",
    type=int,
    help="Tell members this many days before their points expire (points.expiring; 0: never). Default 14.",
)
@timezone_option
@transactional
def update(
    slug, name, clawback_policy, return_window_days, expiry_policy, expiry_after, expiring_notice_days, timezone
):
    """Change a program's settings."""
    program = update_program(
        db.session,
        get_program(db.session, slug),
        name=name,
        clawback_policy=clawback_policy,
        return_window_days=return_window_days,
        expiry_policy=expiry_policy,
        expiry_after=expiry_after,
        expiring_notice_days=expiring_notice_days,
        timezone=timezone,
    )
    expires = program.expiry_policy + (f" {program.expiry_after}" if program.expiry_after is not None else "")
    click.echo(
        f"{program.slug}: time zone {program.timezone}, claw-back {program.clawback_policy},"
        f" return window {program.return_window_days} days,"
        f" expiry {expires}, "
        + (
            f"members told {program.expiring_notice_days} days before."
            if program.expiring_notice_days
            else "members never told before."
        )
    )


@group.command("list")
@transactional
def list_():
    """List the programs."""
    found = list_programs(db.session)
    if not found:
        click.echo("No programs yet: loyalty programs create --slug … --name … --currency …")
    for program in found:
        click.echo(f"{program.slug:20} {program.currency}  {program.timezone:20} {program.name}")


def register(main) -> None:
    main.add_command(group)
