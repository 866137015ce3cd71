"""``loyalty events push`` and ``loyalty orders simulate``: the earning pipeline by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import click
from flask.cli import AppGroup

from loyalty import errors
from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.event_schemas import load_event
from loyalty.earning.pipeline import process
from loyalty.earning.simulate import simulate
from loyalty.programs.program import get_program
from loyalty.registry import current_registry

events_group = AppGroup("events", help="Feed normalized events to the earning pipeline.")
orders_group = AppGroup("orders", help="Orders: try what an order would earn.")


def _read_json(file) -> object:
    try:
        # Money must never pass through a float.
        return json.load(file, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise errors.InvalidInput(f"{file.name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise errors.InvalidInput(f"{file.name} is nested too deeply to read") from None


@events_group.command("push")
@click.option("--program", "program_slug", required=True)
@click.option(
    "--file", "file", type=click.File("r"), required=True, help="An event, or a list of events (JSON; - for stdin)."
)
@transactional
def push(program_slug, file):
    """Process events as a storefront would send them (docs/plugins.md shows the format)."""
    program = get_program(db.session, program_slug)
    data = _read_json(file)
    for item in data if isinstance(data, list) else [data]:
        outcome = process(db.session, program, load_event(item), registry=current_registry(), clock=current_clock())
        line = f"{item.get('type')}: {outcome.status}"
        if outcome.member is not None:
            line += f" (member {outcome.member.external_id})"
        if outcome.points:
            line += f", {outcome.points:+d} points"
        if outcome.message:
            line += f": {outcome.message}"
        click.echo(line)


@orders_group.command("simulate")
@click.option("--program", "program_slug", required=True)
@click.option("--file", "file", type=click.File("r"), required=True, help="An order_paid event (JSON).")
@click.option("--member", "member_external_id", help="Earn as this member (their tier and order count).")
@click.option(
    "--rule",
    "draft_rules",
    multiple=True,
    help='Also try a rule not saved yet: \'{"type": "...", "name": "...", "config": {...}}\'.',
)
@click.option("--only-drafts", is_flag=True, help="Try only the --rule drafts, not the program's rules.")
@transactional
def simulate_order(program_slug, file, member_external_id, draft_rules, only_drafts):
    """Show what an order would earn under the rules, without posting anything."""
    program = get_program(db.session, program_slug)
    data = _read_json(file)
    if not isinstance(data, dict) or data.get("type", "order_paid") != "order_paid":
        raise errors.InvalidInput("simulate takes one order_paid event")
    event = load_event({**data, "type": "order_paid"})
    drafts = []
    for text in draft_rules:
        try:
            drafts.append(json.loads(text, parse_float=Decimal))
        except json.JSONDecodeError as exc:
            raise errors.InvalidInput(f"--rule is not valid JSON: {exc}") from None
    awards = simulate(
        db.session,
        program,
        event,
        member_external_id=member_external_id,
        extra_rules=drafts,
        only_extra=only_drafts,
        registry=current_registry(),
        clock=current_clock(),
    )
    if not awards:
        click.echo("This order would earn no points.")
    for award in awards:
        click.echo(f"{award.points:>8}  {award.rule_name} ({award.rule_type}): {award.reason}")
    if awards:
        click.echo(f"{sum(a.points for a in awards):>8}  in total (nothing was posted)")
    db.session.rollback()


def register(main) -> None:
    main.add_command(events_group)
    main.add_command(orders_group)
