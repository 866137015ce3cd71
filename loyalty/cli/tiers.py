"""``loyalty tiers …``: tiers, the scheme that moves members between them, recalculation, history."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from loyalty.cli.common import json_object, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.jobs import check_cron
from loyalty.models import Tier
from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.tiers.levels import add_tier, history, list_tiers, set_scheme
from loyalty.tiers.progress import plain
from loyalty.tiers.recalculate import recalculate

group = AppGroup("tiers", help="Program tiers, their scheme, recalculation and history.")


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--name", required=True)
@click.option("--rank", type=int, required=True, help="Higher is better.")
@click.option("--threshold", default="0", show_default=True, help="The scheme's value that reaches the tier.")
@click.option("--keep-threshold", default=None, help="A lower value that keeps the tier once reached.")
@click.option("--earn-multiplier", default="1", show_default=True, help="e.g. 1.5 for +50% points.")
@click.option("--perks", default=None, help="Free text shown to members.")
@transactional
def add(program_slug, name, rank, threshold, keep_threshold, earn_multiplier, perks):
    """Add a tier."""
    tier = add_tier(
        db.session,
        get_program(db.session, program_slug),
        name=name,
        rank=rank,
        threshold=threshold,
        keep_threshold=keep_threshold,
        earn_multiplier=earn_multiplier,
        perks=perks,
        clock=current_clock(),
    )
    click.echo(
        f"Added tier {tier.name} (rank {tier.rank}, from {plain(tier.threshold)}, earn x{tier.earn_multiplier})."
    )


@group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """The program's tiers, lowest first, and its scheme."""
    program = get_program(db.session, program_slug)
    scheme = f"{program.tier_scheme} {json.dumps(program.tier_settings)}" if program.tier_scheme else "none (by hand)"
    click.echo(f"Scheme: {scheme}; recalculated on cron {program.tier_cron!r}")
    for tier in list_tiers(db.session, program):
        keep = f" keep {plain(tier.keep_threshold)}" if tier.keep_threshold is not None else ""
        click.echo(
            f"{tier.rank:>3}  {tier.name:16} from {plain(tier.threshold)}{keep}  earn x{tier.earn_multiplier}"
            + (f"  {tier.perks}" if tier.perks else "")
        )


@group.command("schemes")
def schemes():
    """The tier schemes installed, with their settings."""
    for name, scheme in sorted(current_registry().tier_schemes.items()):
        click.echo(f"{name:18} {scheme.title} (counts {scheme.metric})")
        click.echo(f"{'':18} {scheme.description}")
        for field_name, field in scheme.schema().fields.items():
            default = field.load_default if field.load_default is not None else "required"
            click.echo(f"{'':20} {field_name} (default {default}): {field.metadata.get('description', '')}")


@group.command("scheme")
@click.option("--program", "program_slug", required=True)
@click.option("--scheme", "name", required=True, help="An installed scheme (loyalty tiers schemes), or 'none'.")
@click.option("--settings", default="{}", help='JSON, e.g. \'{"window": "rolling", "window_days": 365}\'.')
@click.option("--cron", default=None, help="When to recalculate (crontab: minute hour day month weekday).")
@transactional
def scheme(program_slug, name, settings, cron):
    """Choose how the program's members qualify for tiers."""
    program = get_program(db.session, program_slug)
    set_scheme(
        db.session, program, current_registry(), None if name == "none" else name, json_object(settings, "--settings")
    )
    if cron is not None:
        program.tier_cron = check_cron(cron)
    click.echo(
        f"Program {program.slug}: tier scheme {program.tier_scheme or 'none'} "
        f"{json.dumps(program.tier_settings) if program.tier_settings else ''}".rstrip()
    )


@group.command("recalc")
@click.option("--program", "program_slug", required=True)
@transactional
def recalc(program_slug):
    """Recalculate every member's tier now (what the nightly job does)."""
    result = recalculate(
        db.session, get_program(db.session, program_slug), clock=current_clock(), registry=current_registry()
    )
    click.echo(
        f"{result.members} members: {result.upgraded} up, {result.downgraded} down, "
        f"{result.floors_ended} manual tiers ended."
    )


@group.command("history")
@click.option("--program", "program_slug", required=True)
@click.argument("external_id")
@transactional
def history_(program_slug, external_id):
    """A member's tier changes, newest first."""
    member = get_member(db.session, get_program(db.session, program_slug), external_id)
    name = lambda tier_id: db.session.get(Tier, tier_id).name if tier_id else "no tier"  # noqa: E731
    changes = history(db.session, member)
    if not changes:
        click.echo(f"No tier changes for {member.external_id} yet.")
    for change in changes:
        value = f" (value {plain(change.qualifying_value)})" if change.qualifying_value is not None else ""
        click.echo(
            f"{change.created_at.isoformat(timespec='seconds')}  {name(change.from_tier_id)} -> "
            f"{name(change.to_tier_id)}  {change.reason}{value}"
        )


def register(main) -> None:
    main.add_command(group)
