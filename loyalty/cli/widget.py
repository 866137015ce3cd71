"""``loyalty widget …``: switch a program's storefront widget on and off, and rotate its secret."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.programs.program import get_program
from loyalty.widget.settings import disable, enable, masked, rotate, settings_of
from loyalty.widget.snippets import jwt_tag, shopify_tag, woocommerce_tag

group = AppGroup("widget", help="The storefront widget: shoppers see and spend their points on the store.")

PLATFORM_URL = click.option(
    "--url",
    "platform_url",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="LOYALTY_PUBLIC_URL",
    help="Where shoppers' browsers reach the platform (LOYALTY_PUBLIC_URL).",
)


def _print_secret(secret: str) -> None:
    click.echo("Widget secret (shown only now; keep it on the store's server, never in a page):")
    click.echo(f"  {secret}")


def _print_snippets(platform_url: str, slug: str) -> None:
    click.echo("\nPaste into every page of the store (docs/widget.md explains each):")
    click.echo("\n# Any store whose server makes a JWT (HS256, sub = customer id, exp at most 24 h after iat):")
    click.echo(jwt_tag(platform_url, slug))
    click.echo("\n# Shopify theme (layout/theme.liquid, before </body>; the secret in a theme setting):")
    click.echo(shopify_tag(platform_url, slug))
    click.echo("# WooCommerce (functions.php; define LOYALTY_WIDGET_SECRET in wp-config.php):")
    click.echo(woocommerce_tag(platform_url, slug))


@group.command("enable")
@click.option("--program", "program_slug", required=True)
@click.option("--origin", "origins", multiple=True, required=True, help="The store's origin; repeat for several.")
@PLATFORM_URL
@transactional
def enable_(program_slug, origins, platform_url):
    """Switch the widget on for the store's origins; the first time, print the secret and the tag to paste."""
    program = get_program(db.session, program_slug)
    secret = enable(db.session, program, origins=list(origins), clock=current_clock())
    settings = settings_of(db.session, program)
    click.echo(f"The widget of {program.slug} is on for {', '.join(settings.origins)}.")
    if secret is None:
        click.echo(f"Its secret is unchanged ({masked(settings.secret)}); `loyalty widget rotate` makes a new one.")
    else:
        _print_secret(secret)
    _print_snippets(platform_url, program.slug)


@group.command("rotate")
@click.option("--program", "program_slug", required=True)
@transactional
def rotate_(program_slug):
    """A new secret, printed once; tokens signed with the old one are refused from now on."""
    program = get_program(db.session, program_slug)
    _print_secret(rotate(db.session, program, clock=current_clock()))
    click.echo("Put it where the store signs member tokens now: until then, shoppers see the guest view.")


@group.command("disable")
@click.option("--program", "program_slug", required=True)
@transactional
def disable_(program_slug):
    """Switch the widget off: the member API refuses every request (403) until it is enabled again."""
    program = get_program(db.session, program_slug)
    disable(db.session, program, clock=current_clock())
    click.echo(f"The widget of {program.slug} is off; its settings and secret are kept.")


@group.command("show")
@click.option("--program", "program_slug", required=True)
@transactional
def show(program_slug):
    """Whether the widget is on, for which origins, and the secret's last characters."""
    program = get_program(db.session, program_slug)
    settings = settings_of(db.session, program)
    if settings is None:
        click.echo(f"The widget of {program.slug} was never enabled.")
        return
    click.echo(f"state:    {'on' if settings.enabled else 'off'}")
    click.echo(f"origins:  {', '.join(settings.origins) or 'none'}")
    click.echo(f"secret:   {masked(settings.secret)} (since {settings.secret_created_at:%Y-%m-%d %H:%M} UTC)")
    click.echo(f"joins:    {'through the widget' if settings.joins == 'widget' else 'only through an order'}")


def register(main) -> None:
    main.add_command(group)
