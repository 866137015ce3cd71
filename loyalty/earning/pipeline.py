"""The earning pipeline: normalized events turned into members, orders and points.

Storefront adapters, the API and the CLI all describe what happened in
the same few shapes (:class:`~loyalty.earning.events.OrderPaid`,
:class:`~loyalty.earning.events.OrderRefunded`,
:class:`~loyalty.earning.events.OrderCancelled`,
:class:`~loyalty.earning.events.CustomerCreated`,
:class:`~loyalty.earning.events.CustomEvent`,
:class:`~loyalty.earning.events.Birthday`: :mod:`loyalty.earning.events`),
and :func:`process` is the one place they become members, orders and
ledger entries:

* the member is found, or enrolled (which runs the sign-up rules);
* the member's accounts are locked, so rules that count (first order,
  caps) see a stable history;
* the order is recorded (:mod:`loyalty.earning.orders`), every active rule
  for the event is evaluated (:mod:`loyalty.earning.rule_types`,
  :mod:`loyalty.earning.evaluation`) and the awards are posted with
  idempotency keys built from (order, rule), so the same order sent twice,
  or as created and then paid, earns once;
* refunds claw back in proportion to the refunded amount, from pending
  first; a cancellation reverses what is left (:mod:`loyalty.earning.refunds`).

The caller owns the transaction. Processing the same event again changes
nothing (``Outcome.status == "duplicate"``). A worker's batch of paid
orders takes a set-based path through the same steps
(:mod:`loyalty.earning.batch`), and so do its refunds and cancellations
(:mod:`loyalty.earning.batch_changes`); a dry run evaluates without writing
(:mod:`loyalty.earning.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.earning import custom_events, orders, refunds
from loyalty.earning.evaluation import evaluate, member_view
from loyalty.earning.event_checks import checked
from loyalty.earning.events import (
    Birthday,
    Customer,
    CustomerCreated,
    CustomEvent,
    Event,
    OrderCancelled,
    OrderPaid,
    OrderRefunded,
)
from loyalty.earning.rule_types import ComputedAward, EarningContext, MemberView
from loyalty.earning.rules import RuleSpec, active_rules
from loyalty.ledger import Ledger, NewEarning, Receipt
from loyalty.models import CustomEventRecord, Entry, Member, Order, OrderRefund, Program, Tier
from loyalty.programs.expiry import lot_expiry
from loyalty.programs.members import enrol as enrol_member
from loyalty.programs.members import find_member
from loyalty.referrals import attribution as referral_attribution
from loyalty.referrals import review as referral_review
from loyalty.referrals.context import ReferralContext
from loyalty.rewards.redeem import mark_used
from loyalty.tiers.recalculate import upgrade_on_event


@dataclass
class Outcome:
    """What processing an event did."""

    status: str  # processed, duplicate, ignored
    message: str = ""
    member: Member | None = None
    order: Order | None = None
    awards: list[tuple[ComputedAward, Receipt]] = field(default_factory=list)
    reversals: list[Receipt] = field(default_factory=list)
    #: What the store should know about an event that was processed (a refund capped at what was left).
    note: str = ""

    @property
    def points(self) -> int:
        """Points newly posted (replays excluded), less points newly clawed back."""
        earned = sum(p.amount for _, p in self.awards if not p.replayed)
        return earned - sum(p.moved for p in self.reversals if not p.replayed)


@dataclass
class PipelineCache:
    """What calls of the pipeline within one transaction (a worker's batch) read once and share.

    Rules change rarely and a batch runs in one transaction, so a batch
    sees one version of them; the ledger keeps the system accounts it has
    looked up. Never share one across transactions or sessions.
    """

    #: The ledger of the batch's session, made by the first call.
    ledger: Ledger | None = None
    #: ``(program id, event kind)`` → the active rules for that kind.
    rules: dict[tuple[int, str], list[RuleSpec]] = field(default_factory=dict)
    #: Program id → its tiers, held here so that the session keeps them (it holds its objects weakly).
    tiers: dict[int, list[Tier]] = field(default_factory=dict)


def process(
    session: Session,
    program: Program,
    event: Event,
    *,
    registry,
    clock: Clock,
    cache: PipelineCache | None = None,
) -> Outcome:
    """Apply one normalized event to a program. See the module docstring.

    ``cache``: shared by calls within one transaction (a worker's batch),
    so the program's rules and the ledger's system accounts are read once
    per batch rather than once per event. Every event is first checked to
    fit (:func:`loyalty.earning.event_checks.checked`), whoever made it.
    """
    event = checked(event)
    pipeline = Pipeline(session, program, registry=registry, clock=clock, cache=cache)
    handler = {
        "order_paid": pipeline.order_paid,
        "order_refunded": pipeline.order_refunded,
        "order_cancelled": pipeline.order_cancelled,
        "customer_created": pipeline.customer_created,
        "custom_event": pipeline.custom_event,
        "birthday": pipeline.birthday,
    }.get(getattr(event, "kind", None))
    if handler is None:
        raise errors.InvalidInput(f"not an event the pipeline knows: {type(event).__name__}")
    return handler(event)


def enrol(
    session: Session,
    program: Program,
    customer: Customer,
    *,
    existing: str = "return",
    registry,
    clock: Clock,
) -> tuple[Member, bool]:
    """Enrol a customer as the pipeline does: the enrolled hook and the sign-up rules run."""
    return Pipeline(session, program, registry=registry, clock=clock).member_for(customer, existing=existing)


class Pipeline:
    """One program's earning within one transaction: the handlers of :func:`process` and what they share.

    Public for the set-based batch (:mod:`loyalty.earning.batch`) and the
    dry run (:mod:`loyalty.earning.simulate`), which take the same steps
    around the rules.
    """

    def __init__(
        self,
        session: Session,
        program: Program,
        *,
        registry,
        clock: Clock,
        cache: PipelineCache | None = None,
    ):
        self.session = session
        self.program = program
        self.registry = registry
        self.clock = clock
        self.cache = cache if cache is not None else PipelineCache()
        if self.cache.ledger is None:
            self.cache.ledger = Ledger(session, self.clock)
        self.ledger = self.cache.ledger
        #: What referrals are handed: this pipeline's ledger, so the friend's held accounts are the ones posted to.
        self.referrals = ReferralContext(session, program, self.registry, self.clock, self.ledger)

    def occurred_at(self, event) -> datetime:
        """When the event happened: the store's time, or now when it gives none."""
        return event.occurred_at or self.clock.now()

    # --- orders ------------------------------------------------------------

    def order_paid(self, event: OrderPaid) -> Outcome:
        view = orders.order_view(self.program, event)  # validates amounts and currency before anything is written
        occurred = self.occurred_at(event)
        if event.customer is None:
            order, fresh = orders.record_order(self.session, self.program, self.clock, event, view, None, occurred)
            if fresh and view.discount_codes:  # a member's reward code used at a guest checkout
                mark_used(self.session, self.program, order.id, view.discount_codes, occurred)
            return Outcome("processed" if fresh else "duplicate", "guest order: no member to credit", order=order)
        member, _ = self.member_for(event.customer)
        self.ledger.hold(member.id)
        order, fresh = orders.record_order(self.session, self.program, self.clock, event, view, member, occurred)
        if not fresh:
            status = "ignored" if order.status == "cancelled" else "duplicate"
            return Outcome(status, f"order {order.external_id} is already {order.status}", member, order)
        context = self.context(
            "order_paid", member_view(self.session, member, exclude_order_id=order.id), occurred, order=view
        )
        outcome = Outcome("processed", member=member, order=order)
        for rule in self.active_rules("order_paid"):
            for award in self.evaluate(rule, context, member):
                earning = orders.order_earning(self.program, member, order.id, order.external_id, occurred, rule, award)
                posting = self.ledger.earn_one(earning)
                self.order_posted(member, order.external_id, rule, posting)
                outcome.awards.append((award, posting))
        referral_attribution.on_paid_order(self.referrals, member, order, event)
        if view.discount_codes:
            mark_used(self.session, self.program, order.id, view.discount_codes, occurred)
        self.tier_check([member.id])
        return outcome

    def order_posted(self, member: Member, external_id: str, rule: RuleSpec, posting: Receipt) -> None:
        """An order's award was posted: the ``points_posted`` hook, unless it was a replay."""
        self._posted(member, posting, {"type": "order", "order_id": external_id, "rule": rule.name})

    def order_refunded(self, event: OrderRefunded) -> Outcome:
        order, member = orders.order_and_member(self.session, self.program, self.ledger, event.order_id)
        amount = refunds.check_refund(order, event)
        already = order.status != "cancelled" and (
            self.session.scalar(
                select(OrderRefund.id).where(
                    OrderRefund.order_id == order.id, OrderRefund.external_id == event.refund_id
                )
            )
            is not None
        )
        plan = refunds.plan_refund(order, event, amount, applied_before=already)
        if plan.amount_minor == 0:
            return Outcome(plan.status, plan.message, member, order, note=plan.note)
        now = self.clock.now()
        refund = OrderRefund(
            order_id=order.id,
            external_id=event.refund_id,
            amount_minor=plan.amount_minor,
            refunded_at=self.occurred_at(event),
            created_at=now,
        )
        self.session.add(refund)
        refunds.record_refund(order, refund.amount_minor, now)
        self.session.flush()
        outcome = Outcome("processed", member=member, order=order, note=plan.note)
        if member is None:
            return outcome
        earned = orders.earned(self.session, order)
        outcome.reversals = refunds.claw_back(
            self.ledger,
            earned,
            refunds.refund_claw_back(order, earned),
            key=f"refund:{refund.id}",
            reason=f"Refund {event.refund_id} of order {order.external_id}",
        )
        referral_review.on_order_changed(self.referrals, order, refund.refunded_at)
        return outcome

    def order_cancelled(self, event: OrderCancelled) -> Outcome:
        order, member = orders.order_and_member(self.session, self.program, self.ledger, event.order_id)
        if order.status == "cancelled":
            return Outcome("duplicate", f"order {order.external_id} was already cancelled", member, order)
        orders.mark_cancelled(order, self.occurred_at(event), self.clock.now())
        self.session.flush()
        outcome = Outcome("processed", member=member, order=order)
        if member is not None:
            earned = orders.earned(self.session, order)
            outcome.reversals = refunds.claw_back(
                self.ledger,
                earned,
                refunds.cancel_claw_back(earned),
                key=f"cancel:{order.id}",
                reason=f"Order {order.external_id} cancelled",
            )
            referral_review.on_order_changed(self.referrals, order, order.cancelled_at)
        return outcome

    # --- members and their events ------------------------------------------

    def customer_created(self, event: CustomerCreated) -> Outcome:
        member, created = self.member_for(event.customer)
        return Outcome("processed" if created else "duplicate", member=member)

    def member_for(self, customer: Customer, *, existing: str = "return") -> tuple[Member, bool]:
        """Find or enrol; a new member gets the enrolled hook and the sign-up rules."""
        member, created = enrol_member(
            self.session,
            self.program,
            external_id=customer.external_id,
            email=customer.email or None,
            name=customer.name,
            birthday=customer.birthday,
            existing=existing,
            clock=self.clock,
        )
        if created:
            self.registry.member_enrolled(program=self.program, member=member)
            context = self.context("enrolled", member_view(self.session, member), self.clock.now())
            self._award_simple(member, context, f"enrolled:{member.id}", {"type": "enrolment"})
        return member, created

    def welcome(self, members: list[Member]) -> None:
        """What :meth:`member_for` does for a new member, for members a batch enrolled together.

        The enrolled hook per member, the sign-up rules with the same
        context, the awards posted at once (their keys are new: so are the
        members), and the tier check, before any order of theirs is posted.
        """
        if not members:
            return
        rules = self.active_rules("enrolled")
        earnings, causes = [], []
        for member in members:
            self.registry.member_enrolled(program=self.program, member=member)
            context = self.context(
                "enrolled", member_view(self.session, member, previous_paid_orders=0), self.clock.now()
            )
            for rule in rules:
                for award in self.evaluate(rule, context, member):
                    cause = {"type": "enrolment", "rule": rule.name}
                    earnings.append(self._simple_earning(member, rule, award, f"enrolled:{member.id}", cause, context))
                    causes.append(cause)
        for earning, posting, cause in zip(earnings, self.ledger.earn_new(earnings), causes):
            self._posted(earning.member, posting, cause)
        if earnings:
            self.tier_check(sorted({earning.member.id for earning in earnings}))

    def custom_event(self, event: CustomEvent) -> Outcome:
        """Record the event id once, then award it; a repeat is a duplicate (:mod:`loyalty.earning.custom_events`)."""
        # Its id and name are there and fit (loyalty.earning.event_checks, on the way into process()).
        seen = custom_events.recorded(self.session, self.program, event.event_id)
        if seen is not None:
            return self._repeated_event(event, seen)
        member, _ = self.member_for(event.customer)
        self.ledger.hold(member.id)
        occurred = self.occurred_at(event)
        record_id = custom_events.record(self.session, self.program, event, member, occurred, self.clock.now())
        if record_id is None:  # a concurrent delivery of this id recorded it first
            return self._repeated_event(event, custom_events.recorded(self.session, self.program, event.event_id))
        context = self.context(
            "custom_event",
            member_view(self.session, member),
            occurred,
            event_name=event.name,
            properties=event.properties,
        )
        outcome = self._award_simple(
            member, context, f"event:{event.event_id}", {"type": "event", "event_id": event.event_id}
        )
        if outcome.points:
            self.session.get(CustomEventRecord, record_id).points = outcome.points
            self.session.flush()
        return outcome

    def _repeated_event(self, event: CustomEvent, seen: CustomEventRecord) -> Outcome:
        member = custom_events.repeated(self.session, event, seen)
        return Outcome("duplicate", f"event {event.event_id} was already recorded", member)

    def birthday(self, event: Birthday) -> Outcome:
        member = find_member(self.session, self.program, event.customer.external_id)
        if member is None:
            raise errors.UnknownMember(f"no member {event.customer.external_id!r} in program {self.program.slug}")
        self.ledger.hold(member.id)
        context = self.context("birthday", member_view(self.session, member), self.occurred_at(event))
        return self._award_simple(
            member, context, f"birthday:{member.id}:{event.year}", {"type": "birthday", "year": event.year}
        )

    # --- rules -------------------------------------------------------------

    def active_rules(self, kind: str) -> list[RuleSpec]:
        """The program's active rules for ``kind``, read once per cache (a batch reads them once)."""
        key = (self.program.id, kind)
        if key not in self.cache.rules:
            self.cache.rules[key] = active_rules(self.session, self.program, self.registry, kind)
        return list(self.cache.rules[key])

    def load_tiers(self) -> None:
        """Read the program's tiers once for the cache's transaction: members' views then find them loaded."""
        if self.program.id not in self.cache.tiers:
            self.cache.tiers[self.program.id] = self.session.scalars(
                select(Tier).where(Tier.program_id == self.program.id)
            ).all()

    def context(self, kind: str, member: MemberView, occurred_at: datetime, **extra) -> EarningContext:
        """What a rule sees of an event: the program, the member, when it happened, and ``extra`` (the order...)."""
        return EarningContext(
            kind=kind,
            program_slug=self.program.slug,
            currency=self.program.currency,
            member=member,
            occurred_at=occurred_at,
            now=self.clock.now(),
            **extra,
        )

    def evaluate(self, rule: RuleSpec, context: EarningContext, member: Member | None) -> list[ComputedAward]:
        """Run one rule (:func:`loyalty.earning.evaluation.evaluate`)."""
        return evaluate(self.session, rule, context, member)

    def _award_simple(self, member: Member, context: EarningContext, key_prefix: str, cause: dict) -> Outcome:
        """Post the awards of non-order events (enrolment, birthday, custom events).

        An event already awarded is a duplicate without evaluating again: a
        repeat days later must not earn under rules added since, nor be
        refused because its points would now expire on another date.
        """
        outcome = Outcome("processed", member=member)
        rules = self.active_rules(context.kind)
        if (
            rules
            and self.session.scalar(
                select(Entry.id)
                .where(
                    Entry.program_id == self.program.id,
                    Entry.idempotency_key.in_([f"{key_prefix}:rule:{rule.id}" for rule in rules]),
                )
                .limit(1)
            )
            is not None
        ):
            outcome.status = "duplicate"
            return outcome
        for rule in rules:
            for award in self.evaluate(rule, context, member):
                told = {**cause, "rule": rule.name}
                posting = self.ledger.earn_one(self._simple_earning(member, rule, award, key_prefix, told, context))
                self._posted(member, posting, told)
                outcome.awards.append((award, posting))
        if outcome.awards and all(p.replayed for _, p in outcome.awards):
            outcome.status = "duplicate"
        elif outcome.awards:
            self.tier_check([member.id])
        return outcome

    def _simple_earning(
        self, member: Member, rule: RuleSpec, award: ComputedAward, key_prefix: str, cause: dict, context
    ) -> NewEarning:
        """What an award of a non-order event posts: keyed by (event, rule, part), expiring as the program says."""
        return NewEarning(
            member,
            award.points,
            key=f"{key_prefix}:rule:{rule.id}" + (f":{award.part}" if award.part else ""),
            expires_at=lot_expiry(self.program, context.occurred_at),
            reason=rule.reason(award),
            actor="pipeline",
            source=("rule", str(rule.id)),
            cause=cause,
        )

    def tier_check(self, member_ids) -> None:
        """An order or points can qualify members for a higher tier: move them up now, not tonight."""
        upgrade_on_event(self.session, self.program, member_ids, registry=self.registry, clock=self.clock)

    def _posted(self, member: Member, posting: Receipt, cause: dict) -> None:
        if not posting.replayed:
            self.registry.points_posted(program=self.program, member=member, posting=posting, cause=cause)
