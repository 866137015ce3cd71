"""``loyalty rewards …``: the catalog, code pools, redemptions (for support and testing)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from loyalty import money
from loyalty.cli.common import MOMENT, actor, json_object, transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.models import REDEMPTION_STATUSES, Tier
from loyalty.programs.members import get_member
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.rewards import (
    add_reward,
    cancel,
    get_reward,
    import_codes,
    list_rewards,
    redeem,
    redemptions_of,
    update_reward,
)
from loyalty.rewards.catalog import pool_left
from loyalty.wording import points_text

group = AppGroup("rewards", help="The reward catalog: rewards, code pools, redemptions.")

NONE = "none"


def _limit(value):
    """A whole number, or 'none' for no limit."""
    if value is None or value == NONE:
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a whole number (or '{NONE}')") from None


@group.command("types")
def types():
    """The reward types installed, with their settings."""
    for name, kind in sorted(current_registry().reward_types.items()):
        click.echo(f"{name:22} {kind.title}" + (" (fixed or variable price)" if kind.variable else ""))
        click.echo(f"{'':22} {kind.description}")
        for field_name, field in kind.schema().fields.items():
            default = "required" if field.required else field.load_default
            click.echo(f"{'':24} {field_name} (default {default}): {field.metadata.get('description', '')}")


@group.command("add")
@click.option("--program", "program_slug", required=True)
@click.option("--type", "type_", required=True, help="A reward type (loyalty rewards types).")
@click.option("--name", required=True)
@click.option("--points", type=int, required=True, help="The cost; with --step-value, the points per step.")
@click.option("--step-value", default=None, help="Variable price: the money one step is worth, e.g. 1.00.")
@click.option("--min-points", type=int, default=None)
@click.option("--max-points", type=int, default=None)
@click.option("--config", default="{}", help='The type\'s settings as JSON, e.g. \'{"amount": "5.00"}\'.')
@click.option("--description", default=None)
@click.option("--starts", type=MOMENT, default=None)
@click.option("--ends", type=MOMENT, default=None)
@click.option("--min-tier", default=None, help="Only members of this tier or above.")
@click.option("--stock", type=int, default=None, help="How many can ever be issued.")
@click.option("--limit-per-member", type=int, default=None)
@transactional
def add(
    program_slug,
    type_,
    name,
    points,
    step_value,
    min_points,
    max_points,
    config,
    description,
    starts,
    ends,
    min_tier,
    stock,
    limit_per_member,
):
    """Add a reward to the catalog."""
    program = get_program(db.session, program_slug)
    reward = add_reward(
        db.session,
        program,
        current_registry(),
        type=type_,
        name=name,
        points=points,
        config=json_object(config, "--config"),
        description=description,
        step_value=step_value,
        min_points=min_points,
        max_points=max_points,
        starts_at=starts,
        ends_at=ends,
        min_tier=min_tier,
        stock=stock,
        limit_per_member=limit_per_member,
        clock=current_clock(),
    )
    click.echo(f"Added reward {reward.id}: {reward.name} ({_price(reward, program)}).")


@group.command("list")
@click.option("--program", "program_slug", required=True)
@transactional
def list_(program_slug):
    """The catalog: price, availability, stock, codes left in a pool."""
    program = get_program(db.session, program_slug)
    registry = current_registry()
    rewards = list_rewards(db.session, program)
    if not rewards:
        click.echo("No rewards yet (loyalty rewards add).")
    for reward in rewards:
        kind = registry.reward_types.get(reward.type)
        notes = [] if reward.active else ["paused"]
        if reward.stock is not None:
            notes.append(f"stock {reward.stock - reward.issued_count}/{reward.stock}")
        if reward.limit_per_member:
            notes.append(f"{reward.limit_per_member} per member")
        if reward.min_tier_id:
            notes.append(f"{db.session.get(Tier, reward.min_tier_id).name}+")
        if reward.starts_at:
            notes.append(f"from {reward.starts_at:%Y-%m-%d}")
        if reward.ends_at:
            notes.append(f"until {reward.ends_at:%Y-%m-%d}")
        if reward.config.get("use_pool"):
            notes.append(f"pool {pool_left(db.session, reward)} codes left")
        summary = kind.describe(reward.config, program.currency) if kind else reward.type
        click.echo(
            f"{reward.id:>4}  {reward.name:28} {_price(reward, program):34} {summary}"
            + (f"  [{', '.join(notes)}]" if notes else "")
        )


@group.command("update")
@click.option("--program", "program_slug", required=True)
@click.argument("reward_id", type=int)
@click.option("--pause/--resume", "paused", default=None)
@click.option("--stock", default=None, help="A number, or 'none'.")
@click.option("--limit-per-member", default=None, help="A number, or 'none'.")
@click.option("--starts", type=MOMENT, default=None)
@click.option("--ends", type=MOMENT, default=None)
@click.option("--min-tier", default=None, help="A tier name, or 'none'.")
@transactional
def update(program_slug, reward_id, paused, stock, limit_per_member, starts, ends, min_tier):
    """Pause or resume a reward, or change its availability."""
    program = get_program(db.session, program_slug)
    reward = get_reward(db.session, program, reward_id)
    changes = {
        "active": None if paused is None else not paused,
        "stock": _limit(stock),
        "limit_per_member": _limit(limit_per_member),
        "starts_at": starts,
        "ends_at": ends,
        "min_tier": min_tier,
    }
    changes = {k: (None if v == NONE else v) for k, v in changes.items() if v is not None}
    update_reward(db.session, program, reward, clock=current_clock(), **changes)
    click.echo(f"Reward {reward.id} {reward.name}: {'active' if reward.active else 'paused'}.")


@group.command("import-codes")
@click.option("--program", "program_slug", required=True)
@click.argument("reward_id", type=int)
@click.option("--file", "source", type=click.File("r"), required=True, help="One code per line ('-': standard input).")
@transactional
def import_codes_(program_slug, reward_id, source):
    """Add codes made in the store to a reward's pool (its config needs "use_pool": true)."""
    program = get_program(db.session, program_slug)
    reward = get_reward(db.session, program, reward_id)
    added = import_codes(db.session, program, reward, source.read().splitlines(), clock=current_clock())
    click.echo(f"Imported {added} new codes into {reward.name}'s pool ({pool_left(db.session, reward)} unused).")


@group.command("redeem")
@click.option("--program", "program_slug", required=True)
@click.option("--member", "member_id", required=True)
@click.option("--reward", "reward_id", type=int, required=True)
@click.option("--points", type=int, default=None, help="Variable rewards: the points to spend.")
@click.option("--key", required=True, help="Idempotency key: the same key gives the same redemption.")
def redeem_(program_slug, member_id, reward_id, points, key):
    """Redeem a reward for a member (what the API does for a store)."""
    redemption = _redeem(program_slug, member_id, reward_id, points, key)
    if redemption.status == "failed":
        raise click.ClickException(f"redemption {redemption.id} failed, no points spent: {redemption.reason}")
    click.echo(
        f"Redemption {redemption.id}: {points_text(redemption.points)}, code {redemption.code or '-'}"
        + (f", expires {redemption.expires_at:%Y-%m-%d}" if redemption.expires_at else "")
        + "."
    )


@transactional
def _redeem(program_slug, member_id, reward_id, points, key):
    """In one transaction (committed even when the reward failed: the failure is recorded)."""
    program = get_program(db.session, program_slug)
    member = get_member(db.session, program, member_id)
    return redeem(
        db.session,
        program,
        member,
        reward_id,
        key=key,
        points=points,
        actor=actor(),
        clock=current_clock(),
        registry=current_registry(),
    )


@group.command("redemptions")
@click.option("--program", "program_slug", required=True)
@click.option("--member", "member_id", required=True)
@click.option("--status", type=click.Choice(REDEMPTION_STATUSES), default=None)
@transactional
def redemptions(program_slug, member_id, status):
    """A member's redemptions, newest first."""
    program = get_program(db.session, program_slug)
    member = get_member(db.session, program, member_id)
    rows = redemptions_of(db.session, member, status=status)
    if not rows:
        click.echo("No redemptions.")
    for r in rows:
        click.echo(
            f"{r.id:>6}  {r.created_at:%Y-%m-%d}  {r.status:9} reward {r.reward_id:<4} {r.points:>6} points"
            f"  {r.code or '-'}" + (f"  {r.reason}" if r.reason else "")
        )


@group.command("cancel")
@click.option("--program", "program_slug", required=True)
@click.option("--member", "member_id", required=True)
@click.argument("redemption_id", type=int)
@transactional
def cancel_(program_slug, member_id, redemption_id):
    """Cancel an issued, unused redemption: the points come back."""
    program = get_program(db.session, program_slug)
    member = get_member(db.session, program, member_id)
    redemption = cancel(
        db.session, program, member, redemption_id, actor=actor(), clock=current_clock(), registry=current_registry()
    )
    click.echo(f"Redemption {redemption.id} cancelled: {points_text(redemption.points)} returned.")


def _price(reward, program) -> str:
    if reward.pricing == "fixed":
        return points_text(reward.points)
    return (
        f"{points_text(reward.points)} = {money.to_decimal(reward.step_value.normalize(), program.currency)} "
        f"{program.currency}, "
        f"{reward.min_points}-{reward.max_points}"
    )


def register(main) -> None:
    main.add_command(group)
