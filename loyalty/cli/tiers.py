"""``loyalty tiers …``: define tiers (their schemes arrive with the tiers issue)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.cli.common import transactional
from loyalty.db import db
from loyalty.programs import get_program
from loyalty.tiers import add_tier, list_tiers

group = AppGroup("tiers", help="Program tiers and their perks.")


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--name", required=True)
@click.option("--rank", type=int, required=True, help="Higher is better.")
@click.option("--earn-multiplier", default="1", show_default=True, help="e.g. 1.5 for +50% points.")
@transactional
def add(program_slug, name, rank, earn_multiplier):
    """Add a tier."""
    tier = add_tier(db.session, get_program(db.session, program_slug), name=name, rank=rank,
                    earn_multiplier=earn_multiplier)
    click.echo(f"Added tier {tier.name} (rank {tier.rank}, earn x{tier.earn_multiplier}).")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """The program's tiers, lowest first."""
    for tier in list_tiers(db.session, get_program(db.session, program_slug)):
        click.echo(f"{tier.rank:>3}  {tier.name:20} earn x{tier.earn_multiplier}")


def register(main) -> None:
    main.add_command(group)
