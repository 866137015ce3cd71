"""``loyalty verify``: check every ledger invariant; exit 1 on any violation."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from loyalty import errors
from loyalty.db import db
from loyalty.invariants import verify as verify_ledger
from loyalty.models import Program
from loyalty.programs.program import get_program


@click.command("verify")
@click.option("--program", "program_slug", help="Check one program (default: all).")
@with_appcontext
def verify(program_slug):
    """Check the ledger's invariants (docs/design.md) for every program."""
    if program_slug:
        try:
            get_program(db.session, program_slug)
        except errors.LoyaltyError as exc:
            raise click.ClickException(f"{exc.message} [{exc.code}]") from None
    violations = verify_ledger(db.session, program_slug)
    db.session.rollback()
    if violations:
        for violation in violations:
            click.echo(str(violation), err=True)
        click.echo(f"FAILED: {len(violations)} violation(s).", err=True)
        sys.exit(1)
    count = 1 if program_slug else db.session.scalar(select(func.count()).select_from(Program))
    db.session.rollback()
    click.echo(f"OK: every invariant holds ({count} program(s) checked).")


def register(main) -> None:
    main.add_command(verify)
