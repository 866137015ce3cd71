"""``loyalty members …``"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from loyalty.cli.common import MOMENT, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger import Ledger
from loyalty.models import Member
from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.wording import points_text

# The earning pipeline, the referrals and the tiers are imported by the commands that use them: together
# they were a tenth of ``loyalty members list``'s start (issue 19, goal 5; tests/test_cli_start.py).

group = AppGroup("members", help="Enrol, list and inspect members.")


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--external-id", required=True, help="The store's customer id.")
@click.option("--email")
@click.option("--name")
@click.option("--birthday", type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@transactional
def add(program_slug, external_id, email, name, birthday):
    """Enrol a member."""
    from loyalty.earning.events import Customer
    from loyalty.earning.pipeline import enrol

    program = get_program(db.session, program_slug)
    customer = Customer(external_id=external_id, email=email, name=name, birthday=birthday.date() if birthday else None)
    member, _ = enrol(
        db.session, program, customer, existing="error", registry=current_registry(), clock=current_clock()
    )
    balances = Ledger(db.session).balances(member.id)
    bonus = f"; {points_text(balances['available'])} on joining" if balances["available"] else ""
    click.echo(f"Enrolled {member.external_id} in {program.slug} (member {member.id}){bonus}.")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@click.option("--limit", default=50, show_default=True)
@transactional
def list_(program_slug, limit):
    """List a program's members, newest first."""
    program = get_program(db.session, program_slug)
    members = db.session.scalars(
        select(Member).where(Member.program_id == program.id).order_by(Member.id.desc()).limit(limit)
    ).all()
    ledger = Ledger(db.session, current_clock())
    for member in members:
        balances = ledger.balances(member.id)
        click.echo(
            f"{member.external_id:24} {member.email or '-':32} {member.status:9}"
            f" available {balances['available']:>8}  pending {balances['pending']:>8}"
        )


@group.command("show")
@click.option("--program", "program_slug", required=True)
@click.argument("external_id")
@click.option("--limit", default=20, show_default=True, help="How many recent entries to show.")
@transactional
def show(program_slug, external_id, limit):
    """Show a member's balances and recent ledger entries."""
    from loyalty.ledger.history import member_history
    from loyalty.referrals import link_for, referred_by

    program = get_program(db.session, program_slug)
    member = get_member(db.session, program, external_id)
    balances = Ledger(db.session).balances(member.id)
    click.echo(f"Member {member.external_id} of {program.slug}: {member.name or ''} <{member.email or '-'}>")
    click.echo(
        f"Status {member.status}, enrolled {member.enrolled_at:%Y-%m-%d}"
        + (f", tier {member.tier.name}" if member.tier else "")
        + (f", birthday {member.birthday:%m-%d}" if member.birthday else "")
    )
    click.echo(f"Available {balances['available']}   Pending {balances['pending']}")
    link = link_for(program, member.referral_code)
    referral = referred_by(db.session, member)
    click.echo(
        f"Referral code {member.referral_code}"
        + (f"   link {link}" if link else "")
        + (f"   referred with code {referral.code} ({referral.status})" if referral else "")
    )
    lines = member_history(db.session, member.id, limit=limit)
    if not lines:
        click.echo("No ledger entries yet.")
        return
    click.echo(f"\n{'entry':>6}  {'when (UTC)':16}  {'kind':8} {'available':>9} {'pending':>8}  reason")
    for line in lines:
        note = line.reason or ""
        if line.reverses_id:
            note = f"reverses {line.reverses_id}" + (f": {note}" if note else "")
        if line.shortfall:
            note += f" (shortfall {line.shortfall})"
        click.echo(
            f"{line.entry_id:>6}  {line.created_at:%Y-%m-%d %H:%M}  {line.kind:8}"
            f" {line.available:>+9} {line.pending:>+8}  {note}"
        )


@group.command("set-tier")
@click.option("--program", "program_slug", required=True)
@click.argument("external_id")
@click.option("--tier", "tier_name", help="The tier's name; leave out to remove the member's tier.")
@click.option("--until", type=MOMENT, default=None, help="The manual tier holds (as a floor) until this date.")
@transactional
def set_tier(program_slug, external_id, tier_name, until):
    """Give a member a tier by hand: a floor no recalculation goes below (until --until, if given)."""
    from loyalty.tiers.levels import get_tier, set_member_tier

    program = get_program(db.session, program_slug)
    member = get_member(db.session, program, external_id)
    tier = get_tier(db.session, program, tier_name) if tier_name else None
    set_member_tier(db.session, member, tier, until=until, clock=current_clock(), registry=current_registry())
    held = f" (held until {until.isoformat(timespec='seconds')})" if tier and until else ""
    click.echo(f"{member.external_id} is now {'in ' + tier.name if tier else 'without a tier'}{held}.")


def register(main) -> None:
    main.add_command(group)
