"""``loyalty outbound …``: a program's outbound webhook endpoints, what was sent to them, replays and test events.

Thin over :mod:`loyalty.messages.destinations` (the admin's Outbound page
uses the same service). A signing secret is printed once, by ``add`` and
``rotate``; every other command shows it masked. ``send`` sends what is
due once (as the scheduler's ``messages`` job does when no worker runs).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from loyalty.cli.common import json_object, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.messages import destinations, sending
from loyalty.models import DELIVERY_STATUSES, Program
from loyalty.programs.program import get_program
from loyalty.registry import current_registry

group = AppGroup("outbound", help="Outbound webhooks: send the program's events to a store's other systems.")

PROGRAM = click.option("--program", "program_slug", help="Only this program's.")


def _program(slug):
    return get_program(db.session, slug) if slug else None


def _print_secrets(secrets: dict) -> None:
    for field, value in secrets.items():
        label = "Signing secret" if field == "secret" else field
        click.echo(f"{label} (shown only now; the receiver verifies every delivery with it):")
        click.echo(f"  {value}")


def _line(destination, slug: str) -> str:
    config = destinations.masked(destination, current_registry())
    secret = " ".join(f"{key} {value}" for key, value in config.items() if key != "url")
    events = ", ".join(destination.events) if destination.events != ["*"] else "all events"
    return (
        f"{destination.id:>5}  {slug:12} {destination.channel:8} {destination.status:8}  {destination.name}\n"
        f"       events: {events}" + (f"   {secret}" if secret else "")
    )


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--url", help="Where to POST the events (https://…).")
@click.option("--events", required=True, help="Event types, comma-separated (points.earned,tier.changed), or all.")
@click.option("--name", help="What to call it (default: its URL).")
@click.option("--channel", default="webhook", show_default=True, help="A plugin's channel instead of webhooks.")
@click.option("--config", "config_json", help="The channel's config as JSON (for a plugin's channel).")
@transactional
def add(program_slug, url, events, name, channel, config_json):
    """Add an endpoint; print its signing secret, this once."""
    program = get_program(db.session, program_slug)
    config = json_object(config_json, "--config") or {}
    if url is not None:
        config["url"] = url
    destination = destinations.add(
        db.session,
        program,
        channel=channel,
        config=config,
        events=events,
        name=name,
        clock=current_clock(),
        registry=current_registry(),
        settings=current_app.config,
    )
    wanted = "all events" if destination.events == ["*"] else ", ".join(destination.events)
    click.echo(f"Endpoint {destination.id} of {program.slug}: {destination.name}, for {wanted}.")
    channel_type = current_registry().notification_channels[destination.channel]
    _print_secrets({field: destination.config[field] for field in channel_type.secret_fields})


@group.command("list")
@PROGRAM
@transactional
def list_(program_slug):
    """Endpoints with their status (and why one is disabled), events and masked secret."""
    found = destinations.find(db.session, program=_program(program_slug))
    if not found:
        click.echo("No endpoints.")
    slugs = dict(db.session.execute(select(Program.id, Program.slug)).all())
    for destination in found:
        click.echo(_line(destination, slugs[destination.program_id]))
        if destination.disabled_reason:
            click.echo(f"       {destination.disabled_reason} (`loyalty outbound enable {destination.id}`)")


def _destination(destination_id, program_slug):
    return destinations.get(db.session, destination_id, program=_program(program_slug))


@group.command("remove")
@click.argument("destination_id", type=int)
@PROGRAM
@transactional
def remove(destination_id, program_slug):
    """Delete an endpoint and its deliveries' history (`disable` keeps the history)."""
    destination = _destination(destination_id, program_slug)
    name = destination.name
    gone = destinations.remove(db.session, destination)
    click.echo(f"Removed endpoint {destination_id} ({name}) and its {gone} deliveries.")


@group.command("rotate")
@click.argument("destination_id", type=int)
@PROGRAM
@transactional
def rotate(destination_id, program_slug):
    """A new signing secret, printed once; the old one signs nothing from now on."""
    destination = _destination(destination_id, program_slug)
    secrets = destinations.rotate(db.session, destination, clock=current_clock(), registry=current_registry())
    _print_secrets(secrets)
    click.echo("Give it to the receiver now: until then, its signature checks fail (and deliveries are retried).")


@group.command("enable")
@click.argument("destination_id", type=int)
@PROGRAM
@transactional
def enable(destination_id, program_slug):
    """Send to an endpoint again (after it was disabled, by a person or by the platform)."""
    destination = _destination(destination_id, program_slug)
    destinations.enable(db.session, destination, clock=current_clock())
    click.echo(f"Endpoint {destination.id} is active: what waited for it goes now.")


@group.command("disable")
@click.argument("destination_id", type=int)
@PROGRAM
@transactional
def disable(destination_id, program_slug):
    """Stop sending to an endpoint, keeping it and its history."""
    destination = _destination(destination_id, program_slug)
    destinations.disable(db.session, destination, clock=current_clock(), by="the CLI")
    click.echo(f"Endpoint {destination.id} is disabled: nothing is sent to it until it is enabled.")


@group.command("test")
@click.argument("destination_id", type=int)
@click.option("--type", "event_type", default="points.earned", show_default=True, help="The event type to sample.")
@PROGRAM
@transactional
def test(destination_id, event_type, program_slug):
    """Queue a sample event ("test": true in its data) for this endpoint only."""
    destination = _destination(destination_id, program_slug)
    delivery = destinations.send_test(db.session, destination, event_type, clock=current_clock())
    click.echo(
        f"Test event {event_type} queued as delivery {delivery.id}: the worker sends it, or `loyalty outbound send`."
    )


@group.command("send")
@transactional
def send():
    """Send what is due now, once (the worker does it continuously; the messages job every minute)."""
    counts = sending.send_due(
        db.session, registry=current_registry(), settings=current_app.config, clock=current_clock()
    )
    said = ", ".join(f"{counts[s]} {s}" for s in ("delivered", "pending", "failed", "skipped") if counts[s])
    click.echo(f"Events fanned out: {counts['events']}. Deliveries: {said or 'none were due'}.")
    if counts["pending"]:
        click.echo("Pending ones failed this time and are retried later (`loyalty outbound deliveries`).")


@group.command("deliveries")
@PROGRAM
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--endpoint", "destination_id", type=int, help="Only this endpoint's.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@transactional
def deliveries(program_slug, status, destination_id, limit):
    """Deliveries, newest first: status, attempts, the receiver's answer and the last error."""
    program = _program(program_slug)
    destination = destinations.get(db.session, destination_id, program=program) if destination_id else None
    rows = destinations.deliveries(db.session, program=program, destination=destination, status=status, limit=limit)
    if not rows:
        click.echo("No deliveries.")
    for delivery, event in rows:
        test_mark = " (test)" if (event.data or {}).get("test") else ""
        line = (
            f"{delivery.id:>6}  {delivery.created_at:%Y-%m-%d %H:%M}  endpoint {delivery.destination_id:<4} "
            f"{event.uid}  {delivery.event_type}{test_mark:7} {delivery.status:9} tries {delivery.attempts}"
        )
        if delivery.response_code is not None:
            line += f"  code {delivery.response_code}"
        if delivery.status == "pending" and delivery.attempts:
            line += f"  next {delivery.next_attempt_at:%Y-%m-%d %H:%M}"
        if delivery.last_error:
            line += f"  {delivery.last_error}"
        click.echo(line)


@group.command("replay")
@click.argument("delivery_id", type=int)
@transactional
def replay(delivery_id):
    """Send a delivered, failed or skipped delivery again, now (the same webhook-id)."""
    delivery = destinations.get_delivery(db.session, delivery_id)
    destinations.replay(db.session, delivery, clock=current_clock(), registry=current_registry())
    destination = destinations.get(db.session, delivery.destination_id)
    click.echo(f"Delivery {delivery.id} is due again, attempts from zero.")
    if destination.status != "active":
        click.echo(f"Its endpoint {destination.id} is disabled: it goes once the endpoint is enabled.")


def register(main) -> None:
    main.add_command(group)
