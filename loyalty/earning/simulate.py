"""What an order would earn, without writing anything: the dry run behind ``loyalty orders simulate`` and the admin's rule preview.

It takes the pipeline's own steps around the rules (the order view, the
member as rules see them, the context, :meth:`Pipeline.evaluate
<loyalty.earning.pipeline.Pipeline.evaluate>`), so a preview cannot drift
from what a real order earns; it only records nothing and enrols nobody.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.earning.evaluation import member_view
from loyalty.earning.events import OrderPaid
from loyalty.earning.orders import order_view
from loyalty.earning.pipeline import Pipeline
from loyalty.earning.rule_types import ComputedAward, MemberView, validate_config
from loyalty.earning.rules import RuleSpec, rule_type
from loyalty.models import Program
from loyalty.programs.members import find_member


def simulate(
    session: Session,
    program: Program,
    event: OrderPaid,
    *,
    member_external_id: str | None = None,
    extra_rules: list[dict] = (),
    only_extra: bool = False,
    registry,
    clock: Clock,
) -> list[ComputedAward]:
    """What an order would earn, without writing anything (a dry run).

    The member is ``member_external_id`` (their tier and order history
    count) or, if not given or not enrolled, a new member with no tier.
    ``extra_rules`` (``{"type", "name", "config"}``) are tried as if they
    were active, after validation; ``only_extra`` leaves the program's own
    rules out.

    Rules get the context shape of a real run: ``occurred_at`` is the
    order's or now, and a customer who is no member yet is member ``id``
    0 (a real run would enrol them first; a dry run enrols nobody). A rule
    whose plugin raises is reported as :class:`~loyalty.errors.RuleFailed`,
    naming the rule, its type and the plugin.
    """
    pipeline = Pipeline(session, program, registry=registry, clock=clock)
    order = order_view(program, event)
    member = find_member(session, program, member_external_id) if member_external_id else None
    view = (
        member_view(session, member, exclude_order_id=None)
        if member
        else MemberView(
            0,
            member_external_id or (event.customer.external_id if event.customer else "guest"),
            event.customer.email
            if event.customer and member_external_id in (None, event.customer.external_id)
            else None,
            None,
            None,
            Decimal(1),
            0,
        )
    )
    rules = [] if only_extra else pipeline.active_rules("order_paid")
    for index, spec in enumerate(extra_rules, start=1):
        kind = rule_type(pipeline.registry, spec.get("type", ""))
        rules.append(
            RuleSpec(None, spec.get("name") or f"draft {index}", kind, validate_config(kind, spec.get("config")))
        )
    context = pipeline.context("order_paid", view, pipeline.occurred_at(event), order=order)
    awards = []
    for rule in rules:
        try:
            awards.extend(pipeline.evaluate(rule, context, member))
        except errors.LoyaltyError:
            raise
        except Exception as exc:
            plugin = pipeline.registry.owner("earning_rule_types", rule.type.name)
            raise errors.RuleFailed(
                f"rule {rule.name!r} (type {rule.type.name}, plugin {plugin}) failed: {type(exc).__name__}: {exc}"
            ) from exc
    return awards
