"""``loyalty points …``: post to the ledger from the command line."""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup

from loyalty import errors
from loyalty.cli.common import MOMENT, actor, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.ledger import Ledger, Receipt
from loyalty.models import Entry
from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.wording import count_text, points_text

group = AppGroup("points", help="Award, redeem, adjust and reverse points.")

program_option = click.option("--program", "program_slug", required=True, help="Program slug.")
member_option = click.option("--member", "external_id", required=True, help="The member's external id.")
key_option = click.option(
    "--key",
    help="Idempotency key: repeating a command with the same key changes nothing. Default: a new random key.",
)
reason_option = click.option("--reason", help="Why; kept with the entry.")


def _key(key: str | None) -> str:
    return key or f"cli:{uuid.uuid4()}"


def _report(posting: Receipt | None, *, debit: bool = False) -> None:
    """``Entry 7: adjust -5 points.``: the entry's kind and amount; ``debit`` for an adjustment that took points
    (the receipt's amount is the size of the move, without its direction)."""
    if posting is None:
        return
    if posting.replayed:
        click.echo(f"Entry {posting.entry_id} was already posted with this key; nothing changed.")
        return
    text = f"Entry {posting.entry_id}: {posting.kind} {points_text(-posting.amount if debit else posting.amount)}"
    if posting.shortfall:
        text += f" ({points_text(posting.shortfall)} could not be clawed back: recorded as shortfall)"
    click.echo(text + ".")


def _member(program_slug, external_id):
    program = get_program(db.session, program_slug)
    return program, get_member(db.session, program, external_id)


@group.command("award")
@program_option
@member_option
@click.option("--amount", type=int, required=True)
@click.option("--pending", is_flag=True, help="Hold the points as pending (until --release-at, or a manual release).")
@click.option("--release-at", type=MOMENT, help="When pending points become available.")
@click.option("--expires-at", type=MOMENT, help="When the points expire if unspent.")
@reason_option
@key_option
@transactional
def award(program_slug, external_id, amount, pending, release_at, expires_at, reason, key):
    """Issue points to a member."""
    _, member = _member(program_slug, external_id)
    if release_at and not pending:
        pending = True
    _report(
        Ledger(db.session, current_clock()).earn(
            member,
            amount,
            key=_key(key),
            pending=pending,
            release_at=release_at,
            expires_at=expires_at,
            reason=reason,
            actor=actor(),
        )
    )


@group.command("redeem")
@program_option
@member_option
@click.option("--amount", type=int, required=True)
@reason_option
@key_option
@transactional
def redeem(program_slug, external_id, amount, reason, key):
    """Spend a member's available points (soonest-expiring first)."""
    _, member = _member(program_slug, external_id)
    _report(Ledger(db.session, current_clock()).redeem(member, amount, key=_key(key), reason=reason, actor=actor()))


@group.command("adjust")
@program_option
@member_option
@click.option("--amount", type=int, required=True, help="Positive to credit, negative to debit.")
@click.option("--reason", required=True, help="Why (required for adjustments).")
@click.option("--expires-at", type=MOMENT, help="Expiry of credited points.")
@key_option
@transactional
def adjust(program_slug, external_id, amount, reason, expires_at, key):
    """Correct a member's balance by hand, with a reason."""
    _, member = _member(program_slug, external_id)
    if amount == 0:
        raise errors.InvalidInput("amount must not be zero")
    _report(
        Ledger(db.session, current_clock()).adjust(
            member, amount, key=_key(key), reason=reason, actor=actor(), expires_at=expires_at
        ),
        debit=amount < 0,
    )


@group.command("reverse")
@program_option
@click.option("--member", "external_id", help="If given, the entry must be this member's.")
@click.option("--entry", "entry_id", type=int, required=True, help="The entry to reverse.")
@click.option("--amount", type=int, help="Reverse only part of it (default: all that is left).")
@click.option("--expires-at", type=MOMENT, help="Expiry of points given back.")
@reason_option
@key_option
@transactional
def reverse(program_slug, external_id, entry_id, amount, expires_at, reason, key):
    """Reverse a ledger entry, wholly or in part."""
    program = get_program(db.session, program_slug)
    ledger = Ledger(db.session, current_clock())
    if external_id is not None:
        member = get_member(db.session, program, external_id)
        entry = db.session.get(Entry, entry_id)
        if entry is None or entry.member_id != member.id:
            raise errors.UnknownEntry(f"member {external_id} has no entry {entry_id}")
    _report(
        ledger.reverse(
            entry_id,
            amount,
            key=_key(key),
            program_id=program.id,
            reason=reason,
            actor=actor(),
            expires_at=expires_at,
        )
    )


@group.command("release")
@program_option
@transactional
def release(program_slug):
    """Release every pending lot whose release date has come."""
    program = get_program(db.session, program_slug)
    postings = Ledger(db.session, current_clock()).release_due(program.id)
    click.echo(f"Released {points_text(sum(p.amount for p in postings))} in {count_text(len(postings), 'lot')}.")


@group.command("expire")
@program_option
@transactional
def expire(program_slug):
    """Expire every available lot whose expiry date has passed."""
    program = get_program(db.session, program_slug)
    postings = Ledger(db.session, current_clock()).expire_due(program.id)
    click.echo(f"Expired {points_text(sum(p.amount for p in postings))} in {count_text(len(postings), 'lot')}.")


def register(main) -> None:
    main.add_command(group)
