"""``loyalty referrals …``: the program's referral terms and fraud checks; reviewing referrals."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from loyalty.cli.common import actor, json_object, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import REFERRAL_STATUSES, Member, Reward
from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.referrals import approve, list_referrals, reject, set_terms, stored_terms
from loyalty.registry import current_registry
from loyalty.wording import points_text

group = AppGroup("referrals", help="Referral terms, fraud checks, and flagged referrals to review.")

NONE = "none"


def _optional_int(value):
    """An integer, or 'none' to clear the setting."""
    if value is None:
        return None
    if value == NONE:
        return NONE
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a whole number (or '{NONE}')") from None


@group.command("terms")
@click.option("--program", "program_slug", required=True)
@click.option("--referrer-points", type=int, help="Points for the member who referred.")
@click.option("--friend-points", type=int, help="Points for the friend.")
@click.option("--friend-reward", help="A catalog reward (its id) for the friend, given for no points; or 'none'.")
@click.option("--min-order", help="Smallest qualifying order after discounts, e.g. 25.00.")
@click.option(
    "--first-order-only/--any-order",
    default=None,
    help="Only the friend's first order decides (default), or each order until one qualifies.",
)
@click.option("--monthly-cap", help="Rewarded referrals per referrer per month, or 'none'.")
@click.option("--review-days", help="Days before rewarding, or 'none' for the program's return window.")
@click.option("--link", help="Share link with {code}, e.g. 'https://shop.example.com/?ref={code}', or 'none'.")
@click.option("--on/--off", "enabled", default=None, help="Switch referrals on or off.")
@transactional
def terms(
    program_slug,
    referrer_points,
    friend_points,
    friend_reward,
    min_order,
    first_order_only,
    monthly_cap,
    review_days,
    link,
    enabled,
):
    """Show the program's referral terms; options change them."""
    program = get_program(db.session, program_slug)
    changes = {
        name: value
        for name, value in {
            "referrer_points": referrer_points,
            "friend_points": friend_points,
            "friend_reward": _optional_int(friend_reward),
            "min_order": min_order,
            "first_order_only": first_order_only,
            "monthly_cap": _optional_int(monthly_cap),
            "review_days": _optional_int(review_days),
            "link": link,
            "enabled": enabled,
        }.items()
        if value is not None
    }
    changes = {name: None if value == NONE else value for name, value in changes.items()}
    if changes:
        set_terms(program, current_registry(), **changes)
    _show_terms(program)


def _show_terms(program) -> None:
    current = stored_terms(program)
    window = (
        f"{current.review_days} days"
        if current.review_days is not None
        else f"the return window ({program.return_window_days} days)"
    )
    on = program.referral_terms is not None and current.enabled
    click.echo(
        f"Referrals in {program.slug}: {'on' if on else 'off'}"
        + ("" if program.referral_terms else " (no terms yet: set them with the options)")
    )
    gift = ""
    if current.friend_reward is not None:
        reward = db.session.get(Reward, current.friend_reward)
        gift = f" and reward {current.friend_reward} ({reward.name if reward else 'removed'})"
    click.echo(
        f"  referrer gets {points_text(current.referrer_points)}, friend gets {points_text(current.friend_points)}{gift}"
    )
    click.echo(
        f"  qualifying order: {'the first' if current.first_order_only else 'any'} order of at least "
        f"{current.min_order} {program.currency} after discounts"
    )
    click.echo(f"  review period: {window}; monthly cap per referrer: {current.monthly_cap or 'none'}")
    click.echo(f"  share link: {current.link or 'none (set --link)'}")


@group.command("checks")
@click.option("--program", "program_slug", required=True)
@transactional
def checks(program_slug):
    """The fraud checks installed, and how this program runs them."""
    program = get_program(db.session, program_slug)
    configured = stored_terms(program).checks
    for name, check in sorted(current_registry().referral_checks.items()):
        settings = check.schema().load(configured.get(name, {}))
        state = "on" if settings.pop("enabled") else "off"
        action = settings.pop("action") or check.default_action
        extra = " ".join(f"{key}={value}" for key, value in settings.items())
        click.echo(f"{name:18} {state:3} {action:6} {extra}".rstrip())
        click.echo(f"{'':18} {check.description or check.title}")


@group.command("check")
@click.option("--program", "program_slug", required=True)
@click.argument("name")
@click.option("--on/--off", "enabled", default=None)
@click.option(
    "--action",
    type=click.Choice(["reject", "flag", "default"]),
    default=None,
    help="What the check's reason does ('default': the check's own default).",
)
@click.option("--settings", default=None, help="The check's own settings as JSON, e.g. '{\"max_per_ip\": 5}'.")
@transactional
def check(program_slug, name, enabled, action, settings):
    """Switch a fraud check on or off, choose its action, change its settings."""
    program = get_program(db.session, program_slug)
    change = json_object(settings, "--settings") or {}
    if enabled is not None:
        change["enabled"] = enabled
    if action is not None:
        change["action"] = None if action == "default" else action
    set_terms(program, current_registry(), checks={name: change})
    click.echo(f"Check {name} in {program.slug}: {json.dumps(stored_terms(program).checks[name])}")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@click.option("--status", type=click.Choice(REFERRAL_STATUSES), default=None)
@click.option("--member", "member_id", default=None, help="Only this referrer's (external id).")
@click.option("--limit", type=int, default=50, show_default=True)
@transactional
def list_(program_slug, status, member_id, limit):
    """Referrals, newest first (flagged ones wait for approve or reject)."""
    program = get_program(db.session, program_slug)
    referrer = get_member(db.session, program, member_id) if member_id else None
    rows = list_referrals(db.session, program, status=status, referrer=referrer, limit=limit)
    if not rows:
        click.echo("No referrals.")
        return
    names = dict(
        db.session.execute(
            db.select(Member.id, Member.external_id).where(Member.id.in_({r.referrer_id for r in rows}))
        ).all()
    )
    for r in rows:
        points = f"+{r.referrer_points}/+{r.friend_points}" if r.status in ("converted", "rewarded") else ""
        click.echo(
            f"{r.id:>6}  {r.created_at:%Y-%m-%d}  {r.status:9} {names[r.referrer_id]} -> {r.friend_external_id}"
            f"  via {r.via} {points}" + (f"  {r.reason}" if r.reason else "")
        )


@group.command("approve")
@click.option("--program", "program_slug", required=True)
@click.argument("referral_id", type=int)
@transactional
def approve_(program_slug, referral_id):
    """Approve a flagged referral: it converts (or waits for the friend's order)."""
    referral = approve(
        db.session,
        get_program(db.session, program_slug),
        referral_id,
        actor=actor(),
        registry=current_registry(),
        clock=current_clock(),
    )
    click.echo(f"Referral {referral.id} approved: now {referral.status}.")


@group.command("reject")
@click.option("--program", "program_slug", required=True)
@click.argument("referral_id", type=int)
@click.option("--reason", required=True, help="Why (kept on the referral).")
@transactional
def reject_(program_slug, referral_id, reason):
    """Reject a referral that is not rewarded yet."""
    referral = reject(
        db.session,
        get_program(db.session, program_slug),
        referral_id,
        reason=reason,
        actor=actor(),
        clock=current_clock(),
    )
    click.echo(f"Referral {referral.id} rejected: {referral.reason}")


def register(main) -> None:
    main.add_command(group)
