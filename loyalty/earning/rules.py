"""Earning rule instances: a program's configured use of a rule type, and the active ones as the pipeline runs them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.earning.rule_types import ComputedAward, validate_config
from loyalty.models import EarningRule, Program


def rule_type(registry, name: str):
    try:
        return registry.earning_rule_types[name]
    except KeyError:
        known = ", ".join(sorted(registry.earning_rule_types)) or "none"
        raise errors.UnknownRuleType(f"no earning rule type {name!r}; installed: {known}") from None


def add_rule(
    session: Session,
    program: Program,
    registry,
    *,
    type: str,
    name: str,
    config: dict | None = None,
    active: bool = True,
    clock: Clock,
) -> EarningRule:
    """Add a rule after its type's schema accepts the config; otherwise store nothing."""
    kind = rule_type(registry, type)
    if not name or not name.strip() or len(name.strip()) > 200:
        raise errors.InvalidInput("a rule needs a name of 1 to 200 characters")
    stored = validate_config(kind, config)
    now = clock.now()
    rule = EarningRule(
        program_id=program.id,
        type=type,
        name=name.strip(),
        config=stored,
        active=active,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def update_rule(
    session: Session,
    rule: EarningRule,
    registry,
    *,
    name: str | None = None,
    config: dict | None = None,
    active: bool | None = None,
    clock: Clock,
) -> EarningRule:
    """Change a rule's name, config (validated again) or whether it is active."""
    if config is not None:
        rule.config = validate_config(rule_type(registry, rule.type), config)
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise errors.InvalidInput("a rule needs a name of 1 to 200 characters")
        rule.name = name.strip()
    if active is not None:
        rule.active = active
    rule.updated_at = clock.now()
    session.flush()
    return rule


def get_rule(session: Session, program: Program, rule_id: int) -> EarningRule:
    rule = session.scalar(select(EarningRule).where(EarningRule.id == rule_id, EarningRule.program_id == program.id))
    if rule is None:
        raise errors.UnknownRule(f"no earning rule {rule_id} in program {program.slug}")
    return rule


def list_rules(session: Session, program: Program, *, active_only: bool = False) -> list[EarningRule]:
    query = select(EarningRule).where(EarningRule.program_id == program.id).order_by(EarningRule.id)
    if active_only:
        query = query.where(EarningRule.active.is_(True))
    return list(session.scalars(query))


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the pipeline runs it: its type resolved, its config as stored.

    ``id`` is ``None`` for a dry run's draft rule, which has posted nothing.
    """

    id: int | None
    name: str
    type: object
    config: dict

    def reason(self, award: ComputedAward) -> str:
        """The ledger entry's reason: the rule's name, and the award's own reason when it says more."""
        return self.name if award.reason == self.name else f"{self.name}: {award.reason}"


def active_rules(session: Session, program: Program, registry, kind: str) -> list[RuleSpec]:
    """The program's active rules whose type listens to ``kind``, oldest first.

    A rule whose type is not installed (its plugin removed) is skipped.
    """
    rules = []
    for rule in session.scalars(
        select(EarningRule)
        .where(EarningRule.program_id == program.id, EarningRule.active.is_(True))
        .order_by(EarningRule.id)
    ):
        rule_kind = registry.earning_rule_types.get(rule.type)
        if rule_kind is not None and kind in rule_kind.events:
            rules.append(RuleSpec(rule.id, rule.name, rule_kind, rule.config))
    return rules
