"""``loyalty create-admin``: an account for the web admin at /admin; ``loyalty admins set-password``: a new one."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from loyalty.access.admin_users import change_password
from loyalty.access.admin_users import create_admin as create
from loyalty.cli.common import actor, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import ADMIN_ROLES
from loyalty.programs.program import get_program

#: Without a terminal (a script, a container's entry point) the password comes from --password or from
#: ADMIN_PASSWORD (not LOYALTY_…: the app reads every LOYALTY_ variable into its configuration).
password_option = click.option(
    "--password",
    envvar="ADMIN_PASSWORD",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters; or the ADMIN_PASSWORD environment variable; asked, hidden, if neither.",
)


@click.command("create-admin")
@click.option("--email", prompt=True, help="Signs in with it.")
@password_option
@click.option(
    "--role",
    type=click.Choice(ADMIN_ROLES),
    default="manager",
    show_default=True,
    help="owner: everything; manager: the programs' settings and members; viewer: reads only.",
)
@click.option("--program", "programs", multiple=True, help="Only this program (repeat for several; none: all).")
@with_appcontext
@transactional
def create_admin(email, password, role, programs):
    """Create an admin account."""
    user = create(
        db.session,
        email=email,
        password=password,
        role=role,
        programs=[get_program(db.session, slug) for slug in programs],
        clock=current_clock(),
    )
    scope = ", ".join(p.slug for p in user.programs) or "every program"
    click.echo(f"Admin {user.email} ({user.role}) can sign in at /admin/login; sees {scope}.")


@click.group("admins")
def admins():
    """The admin's accounts."""


@admins.command("set-password")
@click.option("--email", prompt=True, help="The account.")
@password_option
@with_appcontext
@transactional
def set_password(email, password):
    """Give an account a new password; every session it has ends (it signs in again)."""
    user = change_password(db.session, email, password, actor=actor(), clock=current_clock())
    click.echo(f"Admin {user.email}: new password set; every session of the account is signed out.")


def register(main) -> None:
    main.add_command(create_admin)
    main.add_command(admins)
