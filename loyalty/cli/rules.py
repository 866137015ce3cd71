"""``loyalty rules …``: configure a program's earning rules."""

from __future__ import annotations

import json
from decimal import Decimal

import click
from flask.cli import AppGroup

from loyalty.cli.common import json_object, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.earning.rules import add_rule, get_rule, list_rules, rule_type, update_rule
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.wording import plain_number

group = AppGroup("rules", help="Earning rules: add, list, change, pause.")


@group.command("types")
def types():
    """The rule types installed, with their settings."""
    for name, kind in sorted(current_registry().earning_rule_types.items()):
        click.echo(f"{name}: {kind.title} (on {', '.join(kind.events)})")
        if getattr(kind, "description", ""):
            click.echo(f"    {kind.description}")
        for field_name, field in kind.schema().fields.items():
            required = "required" if field.required else f"default {_default_text(field)}"
            note = field.metadata.get("description", "")
            click.echo(f"    {field_name} ({required}) {note}".rstrip())


def _default_text(field) -> str:
    """A field's default as a person types it: ``1``, ``down``, ``none``; not ``Decimal('1')`` or ``<class 'list'>``
    (marshmallow keeps a callable such as ``list`` for a default that must be a new object each time)."""
    value = field.load_default() if callable(field.load_default) else field.load_default
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return plain_number(value) if isinstance(value, (int, Decimal)) else str(value)


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--type", "type_", required=True, help="A rule type (see: loyalty rules types).")
@click.option("--name", required=True)
@click.option("--config", help='The settings, as JSON: \'{"points_per_unit": "1"}\'.')
@click.option("--paused", is_flag=True, help="Add it inactive.")
@transactional
def add(program_slug, type_, name, config, paused):
    """Add an earning rule; its config is validated by the rule type's schema."""
    program = get_program(db.session, program_slug)
    rule = add_rule(
        db.session,
        program,
        current_registry(),
        type=type_,
        name=name,
        config=json_object(config, "--config"),
        active=not paused,
        clock=current_clock(),
    )
    click.echo(f"Added rule {rule.id}: {rule.name} ({rule.type}) {json.dumps(rule.config)}")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """The program's rules."""
    program = get_program(db.session, program_slug)
    registry = current_registry()
    for rule in list_rules(db.session, program):
        state = "active" if rule.active else "paused"
        if rule.type not in registry.earning_rule_types:
            state += ", type not installed"
        click.echo(f"{rule.id:>4}  {state:8} {rule.type:22} {rule.name}  {json.dumps(rule.config)}")


@group.command("update")
@click.option("--program", "program_slug", required=True)
@click.argument("rule_id", type=int)
@click.option("--name")
@click.option("--config", help="The new settings, as JSON (replaces the old ones).")
@transactional
def update(program_slug, rule_id, name, config):
    """Rename a rule or replace its config."""
    program = get_program(db.session, program_slug)
    rule = update_rule(
        db.session,
        get_rule(db.session, program, rule_id),
        current_registry(),
        name=name,
        config=json_object(config, "--config"),
        clock=current_clock(),
    )
    click.echo(f"Rule {rule.id}: {rule.name} {json.dumps(rule.config)}")


def _set_active(program_slug, rule_id, active):
    program = get_program(db.session, program_slug)
    rule = get_rule(db.session, program, rule_id)
    if active:
        rule_type(current_registry(), rule.type)  # refuse to resume a rule whose type is not installed
    update_rule(db.session, rule, current_registry(), active=active, clock=current_clock())
    click.echo(f"Rule {rule.id} is {'active' if active else 'paused'}.")


@group.command("pause")
@click.option("--program", "program_slug", required=True)
@click.argument("rule_id", type=int)
@transactional
def pause(program_slug, rule_id):
    """Stop a rule from awarding (keeps it for later)."""
    _set_active(program_slug, rule_id, False)


@group.command("resume")
@click.option("--program", "program_slug", required=True)
@click.argument("rule_id", type=int)
@transactional
def resume(program_slug, rule_id):
    """Make a paused rule award again."""
    _set_active(program_slug, rule_id, True)


def register(main) -> None:
    main.add_command(group)
