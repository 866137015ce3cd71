"""``loyalty storefronts …``: connect stores (the inbox of their webhooks is :mod:`loyalty.webhooks.cli`)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.storefronts.connections import add_storefront, list_storefronts

storefronts_group = AppGroup("storefronts", help="Connect stores: which adapter, which webhook secret.")


@storefronts_group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--type", "type_", required=True, help="shopify, woocommerce, stripe, standard_webhooks, …")
@click.option("--secret", prompt=True, hide_input=True, help="The webhook signing secret (asked if left out).")
@click.option(
    "--api-key",
    default=None,
    help="The store's API key, for rewards that call it (Stripe: the secret key sk_…, for promotion codes).",
)
@transactional
def add(program_slug, type_, secret, api_key):
    """Connect a store (again: replaces its secret, and its API key if given)."""
    program = get_program(db.session, program_slug)
    storefront = add_storefront(
        db.session, program, current_registry(), type=type_, secret=secret, api_key=api_key, clock=current_clock()
    )
    click.echo(
        f"Storefront {storefront.type} connected to {program.slug} (secret {storefront.masked_secret}"
        + (f", API key {storefront.masked_api_key}" if storefront.api_key else "")
        + ")."
    )
    click.echo(f"Point its webhooks at: POST /webhooks/{program.slug}/{storefront.type}")


@storefronts_group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """A program's connected stores (secrets masked)."""
    program = get_program(db.session, program_slug)
    for storefront in list_storefronts(db.session, program):
        api_key = f"  API key {storefront.masked_api_key}" if storefront.api_key else ""
        click.echo(
            f"{storefront.type:20} secret {storefront.masked_secret:14} /webhooks/{program.slug}/{storefront.type}"
            + api_key
        )


def register(main) -> None:
    main.add_command(storefronts_group)
