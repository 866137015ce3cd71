"""Normalized events, and the pipeline that turns them into points.

Storefront adapters, the API and the CLI all describe what happened in
the same few shapes (:class:`OrderPaid`, :class:`OrderRefunded`,
:class:`OrderCancelled`, :class:`CustomerCreated`, :class:`CustomEvent`,
:class:`Birthday`), and :func:`process` is the one place they become
members, orders and ledger entries:

* the member is found, or enrolled (which runs the sign-up rules);
* the member's accounts are locked, so rules that count (first order,
  caps) see a stable history;
* the order is recorded, every active rule for the event is evaluated
  (:mod:`loyalty.earning.rule_types`) and the awards are posted with idempotency keys
  built from (order, rule), so the same order sent twice, or as created
  and then paid, earns once;
* refunds claw back in proportion to the refunded amount, from pending
  first; a cancellation reverses what is left.

The caller owns the transaction. Processing the same event again changes
nothing (``Outcome.status == "duplicate"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import errors, money
from loyalty.clock import Clock, current_clock
from loyalty.earning.rule_types import (
    ComputedAward,
    EarningContext,
    LineView,
    MemberView,
    OrderView,
    evaluate_rule,
    validate_config,
)
from loyalty.ledger import Ledger, NewEarning, Receipt
from loyalty.programs.members import enrol as enrol_member
from loyalty.programs.members import find_member
from loyalty.models import CustomEventRecord, EarningRule, Entry, Member, Order, OrderRefund, Program, Tier
from loyalty.programs.expiry import lot_expiry
from loyalty.referrals import attribution as referral_attribution
from loyalty.referrals import review as referral_review
from loyalty.referrals.context import ReferralContext
from loyalty.rewards.redeem import mark_used
from loyalty.earning.rules import rule_type
from loyalty.tiers.levels import upgrade_on_event

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


#: Record a custom event id unless it is recorded already: its new row id, or nothing.
RECORD_EVENT = {
    name: dialect.insert(CustomEventRecord.__table__)
    .on_conflict_do_nothing(index_elements=["program_id", "event_id"])
    .returning(CustomEventRecord.__table__.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


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


# --- the pipeline ----------------------------------------------------------


def process(
    session: Session, program: Program, event: Event, *, registry=None, clock: Clock | None = None,
    cache: dict | None = None,
) -> Outcome:
    """Apply one normalized event to a program. See the module docstring.

    ``cache``: a dict shared by calls within one transaction (a worker's
    batch), so the program's rules and the ledger's system accounts are
    read once per batch rather than once per event. Every event is first
    checked to fit (:func:`loyalty.earning.event_checks.checked`), whoever made it.
    """
    from loyalty.earning.event_checks import checked  # it imports this module's event classes

    event = checked(event)
    pipeline = _Pipeline(session, program, registry, clock, cache)
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
    registry=None,
    clock: Clock | None = None,
) -> tuple[Member, bool]:
    """Enrol a customer as the pipeline does: the enrolled hook and the sign-up rules run."""
    return _Pipeline(session, program, registry, clock).member_for(customer, existing=existing)


def simulate(
    session: Session,
    program: Program,
    event: OrderPaid,
    *,
    member_external_id: str | None = None,
    extra_rules: list[dict] = (),
    only_extra: bool = False,
    registry=None,
    clock: Clock | None = None,
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
    pipeline = _Pipeline(session, program, registry, clock)
    order = pipeline.order_view(event)
    member = find_member(session, program, member_external_id) if member_external_id else None
    view = pipeline.member_view(member, exclude_order_id=None) if member else MemberView(
        0, member_external_id or (event.customer.external_id if event.customer else "guest"),
        event.customer.email if event.customer and member_external_id in (None, event.customer.external_id) else None,
        None, None, Decimal(1), 0,
    )
    rules = [] if only_extra else pipeline.active_rules("order_paid")
    for index, spec in enumerate(extra_rules, start=1):
        kind = rule_type(pipeline.registry, spec.get("type", ""))
        rules.append(_RuleSpec(None, spec.get("name") or f"draft {index}", kind, validate_config(kind, spec.get("config"))))
    context = pipeline.context("order_paid", view, pipeline._when(event), order=order)
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


def _reason(rule, award: ComputedAward) -> str:
    return rule.name if award.reason == rule.name else f"{rule.name}: {award.reason}"


@dataclass(frozen=True)
class _RuleSpec:
    id: int | None
    name: str
    type: object
    config: dict


class _Pipeline:
    def __init__(self, session: Session, program: Program, registry, clock: Clock | None, cache: dict | None = None):
        from loyalty.registry import current_registry

        self.session = session
        self.program = program
        self.registry = registry or current_registry()
        self.clock = clock or current_clock()
        self.cache = cache if cache is not None else {}
        self.ledger = self.cache.get("ledger") or self.cache.setdefault("ledger", Ledger(session, self.clock))
        #: What referrals are handed: this pipeline's ledger, so the friend's held accounts are the ones posted to.
        self.referrals = ReferralContext(session, program, self.registry, self.clock, self.ledger)

    # --- handlers ----------------------------------------------------------

    def order_paid(self, event: OrderPaid) -> Outcome:
        view = self.order_view(event)  # validates amounts and currency before anything is written
        occurred = self._when(event)
        if event.customer is None:
            order, fresh = self._record_order(event, view, None, occurred)
            if fresh and view.discount_codes:  # a member's reward code used at a guest checkout
                mark_used(self.session, self.program, order.id, view.discount_codes, occurred)
            return Outcome("processed" if fresh else "duplicate", "guest order: no member to credit", order=order)
        member, _ = self.member_for(event.customer)
        self.ledger.hold(member.id)
        order, fresh = self._record_order(event, view, member, occurred)
        if not fresh:
            status = "ignored" if order.status == "cancelled" else "duplicate"
            return Outcome(status, f"order {order.external_id} is already {order.status}", member, order)
        context = self.context("order_paid", self.member_view(member, exclude_order_id=order.id), occurred, order=view)
        outcome = Outcome("processed", member=member, order=order)
        for rule in self.active_rules("order_paid"):
            for award in self.evaluate(rule, context, member):
                earning = self.order_earning(member, order.id, order.external_id, occurred, rule, award)
                posting = self.ledger.earn(
                    earning.member, earning.amount, key=earning.key, pending=earning.pending,
                    release_at=earning.release_at, expires_at=earning.expires_at, reason=earning.reason,
                    actor=earning.actor, source=earning.source,
                )
                self.order_posted(member, order.external_id, rule, award, posting)
                outcome.awards.append((award, posting))
        referral_attribution.on_paid_order(self.referrals, member, order, event)
        if view.discount_codes:
            mark_used(self.session, self.program, order.id, view.discount_codes, occurred)
        self.tier_check([member.id])
        return outcome

    def order_earning(self, member, order_id: int, external_id: str, occurred: datetime, rule, award) -> NewEarning:
        """What an order's award posts: keyed by (order, rule, part), pending for the return window."""
        window = self.program.return_window_days
        return NewEarning(
            member, award.points,
            key=f"order:{order_id}:rule:{rule.id}" + (f":{award.part}" if award.part else ""),
            pending=window > 0,
            release_at=occurred + timedelta(days=window) if window > 0 else None,
            expires_at=lot_expiry(self.program, occurred),
            reason=_reason(rule, award), actor="pipeline", source=("order", external_id),
        )

    def order_posted(self, member, external_id: str, rule, award, posting: Receipt) -> None:
        self._posted(member, award, posting, {"type": "order", "order_id": external_id, "rule": rule.name})

    def order_refunded(self, event: OrderRefunded) -> Outcome:
        order, member = self._order_and_member(event.order_id)
        amount = money.to_decimal(event.amount, order.currency, field="amount")
        if event.currency.upper() != order.currency:
            raise errors.InvalidInput(f"refund in {event.currency}, but order {order.external_id} is in {order.currency}")
        if amount <= 0:
            raise errors.InvalidInput("a refund amount must be positive")
        if not event.refund_id:
            raise errors.InvalidInput("a refund needs the store's refund id")
        if order.status == "cancelled":
            return Outcome("ignored", f"order {order.external_id} is cancelled", member, order)
        already = self.session.scalar(
            select(OrderRefund).where(OrderRefund.order_id == order.id, OrderRefund.external_id == event.refund_id)
        )
        if already is not None:
            return Outcome("duplicate", f"refund {event.refund_id} was already applied", member, order)
        amount_minor = money.to_minor(amount, order.currency)
        if event.cumulative:
            amount_minor -= order.refunded_minor
            if amount_minor <= 0:
                return Outcome("duplicate", f"order {order.external_id} was already refunded this much", member, order)
        amount_minor, note = self._refundable(order, event.refund_id, amount_minor)
        if amount_minor == 0:
            return Outcome("processed", note, member, order, note=note)
        now = self.clock.now()
        refund = OrderRefund(
            order_id=order.id, external_id=event.refund_id, amount_minor=amount_minor,
            refunded_at=self._when(event), created_at=now,
        )
        self.session.add(refund)
        order.refunded_minor += refund.amount_minor
        order.status = "refunded" if order.refunded_minor >= order.total_minor else "partially_refunded"
        order.updated_at = now
        self.session.flush()
        outcome = Outcome("processed", member=member, order=order, note=note)
        if member is None:
            return outcome
        earned = self._earned(order)
        total = sum(amount for _, amount, _ in earned)
        if order.total_minor <= 0 or order.refunded_minor >= order.total_minor:
            target = total
        else:
            share = Decimal(order.refunded_minor) / Decimal(order.total_minor)
            target = int((total * share).to_integral_value(rounding=ROUND_FLOOR))
        outcome.reversals = self._claw_back(
            earned, target - sum(reversed_ for _, _, reversed_ in earned),
            key=f"refund:{refund.id}", reason=f"Refund {event.refund_id} of order {order.external_id}",
        )
        referral_review.on_order_changed(self.referrals, order, refund.refunded_at)
        return outcome

    @staticmethod
    def _refundable(order: Order, refund_id: str, amount_minor: int) -> tuple[int, str]:
        """What of a refund the order can take: at most what is left of it, and a note when less.

        Stores do not refund more than was paid, so a refund beyond what is
        left is a report that overlaps an earlier one. Recording it whole
        would show an order refunded 150.00 of 100.00; what is left is
        recorded, and the delivery says so.
        """
        left = max(order.total_minor - order.refunded_minor, 0)
        if amount_minor <= left:
            return amount_minor, ""
        asked, kept = money.from_minor(amount_minor, order.currency), money.from_minor(left, order.currency)
        return left, (
            f"refund {refund_id} of {asked} {order.currency} is more than order {order.external_id} had left to "
            f"refund ({kept} {order.currency}): {'recorded ' + str(kept) if left else 'nothing recorded'}"
        )

    def order_cancelled(self, event: OrderCancelled) -> Outcome:
        order, member = self._order_and_member(event.order_id)
        if order.status == "cancelled":
            return Outcome("duplicate", f"order {order.external_id} was already cancelled", member, order)
        order.status = "cancelled"
        order.cancelled_at = self._when(event)
        order.updated_at = self.clock.now()
        self.session.flush()
        outcome = Outcome("processed", member=member, order=order)
        if member is not None:
            earned = self._earned(order)
            outcome.reversals = self._claw_back(
                earned, sum(amount - reversed_ for _, amount, reversed_ in earned),
                key=f"cancel:{order.id}", reason=f"Order {order.external_id} cancelled",
            )
            referral_review.on_order_changed(self.referrals, order, order.cancelled_at)
        return outcome

    def customer_created(self, event: CustomerCreated) -> Outcome:
        member, created = self.member_for(event.customer)
        return Outcome("processed" if created else "duplicate", member=member)

    def custom_event(self, event: CustomEvent) -> Outcome:
        """Record the event id once (:class:`CustomEventRecord`), then award it; a repeat is a duplicate.

        The record is inserted before any rule runs, whether or not the
        event earns, so the id counts once: a repeat after a matching rule
        was added still earns nothing. Two deliveries of one id at once
        meet at the record's unique key (the second waits for the first to
        commit, then finds the record). A repeat naming another member or
        another event name is refused (:class:`~loyalty.errors.EventIdConflict`):
        it is a sender's mistake, and answering "duplicate" would hide it.
        """
        # Its id and name are there and fit (loyalty.earning.event_checks, on the way into process()).
        seen = self._recorded_event(event.event_id)
        if seen is not None:
            return self._repeated_event(event, seen)
        member, _ = self.member_for(event.customer)
        self.ledger.hold(member.id)
        occurred = self._when(event)
        record_id = self.session.execute(
            RECORD_EVENT[self.session.get_bind().dialect.name],
            {"program_id": self.program.id, "event_id": event.event_id, "member_id": member.id,
             "name": event.name, "occurred_at": occurred, "received_at": self.clock.now(), "points": 0},
        ).scalar()
        if record_id is None:  # a concurrent delivery of this id recorded it first
            return self._repeated_event(event, self._recorded_event(event.event_id))
        context = self.context(
            "custom_event", self.member_view(member), occurred, event_name=event.name, properties=event.properties
        )
        outcome = self._award_simple(member, context, f"event:{event.event_id}", {"type": "event", "event_id": event.event_id})
        if outcome.points:
            self.session.get(CustomEventRecord, record_id).points = outcome.points
            self.session.flush()
        return outcome

    def _recorded_event(self, event_id: str) -> CustomEventRecord | None:
        return self.session.scalar(
            select(CustomEventRecord).where(
                CustomEventRecord.program_id == self.program.id, CustomEventRecord.event_id == event_id
            ).execution_options(populate_existing=True)
        )

    def _repeated_event(self, event: CustomEvent, seen: CustomEventRecord) -> Outcome:
        """A repeat of a recorded event id: a duplicate if it is the same event, refused if not."""
        member = self.session.get(Member, seen.member_id)
        if member.external_id != (event.customer.external_id or "").strip() or seen.name != event.name:
            raise errors.EventIdConflict(
                f"event id {event.event_id!r} was already recorded as {seen.name!r} for member "
                f"{member.external_id!r}; an event id names one event"
            )
        return Outcome("duplicate", f"event {event.event_id} was already recorded", member)

    def birthday(self, event: Birthday) -> Outcome:
        member = find_member(self.session, self.program, event.customer.external_id)
        if member is None:
            raise errors.UnknownMember(f"no member {event.customer.external_id!r} in program {self.program.slug}")
        self.ledger.hold(member.id)
        context = self.context("birthday", self.member_view(member), self._when(event))
        return self._award_simple(
            member, context, f"birthday:{member.id}:{event.year}", {"type": "birthday", "year": event.year}
        )

    # --- members -----------------------------------------------------------

    def member_for(self, customer: Customer, *, existing: str = "return") -> tuple[Member, bool]:
        """Find or enrol; a new member gets the enrolled hook and the sign-up rules."""
        member, created = enrol_member(
            self.session, self.program, external_id=customer.external_id, email=customer.email or None,
            name=customer.name, birthday=customer.birthday, existing=existing, clock=self.clock,
        )
        if created:
            self.registry.member_enrolled(program=self.program, member=member)
            context = self.context("enrolled", self.member_view(member), self.clock.now())
            self._award_simple(member, context, f"enrolled:{member.id}", {"type": "enrolment"})
        return member, created

    def member_view(
        self, member: Member, *, exclude_order_id: int | None = None, previous_paid_orders: int | None = None
    ) -> MemberView:
        """The member as rules see them; ``previous_paid_orders`` when the caller has counted already."""
        tier = self.session.get(Tier, member.tier_id) if member.tier_id else None
        if previous_paid_orders is None:
            previous = select(func.count()).select_from(Order).where(
                Order.member_id == member.id, Order.paid_at.is_not(None)
            )
            if exclude_order_id is not None:
                previous = previous.where(Order.id != exclude_order_id)
            previous_paid_orders = self.session.scalar(previous)
        return MemberView(
            member.id, member.external_id, member.email, member.birthday,
            tier.name if tier else None, tier.earn_multiplier if tier else Decimal(1),
            previous_paid_orders,
        )

    # --- rules -------------------------------------------------------------

    def active_rules(self, kind: str) -> list[_RuleSpec]:
        key = ("rules", self.program.id, kind)
        if key not in self.cache:
            self.cache[key] = self._load_rules(kind)
        return list(self.cache[key])

    def _load_rules(self, kind: str) -> list[_RuleSpec]:
        rules = []
        for rule in self.session.scalars(
            select(EarningRule)
            .where(EarningRule.program_id == self.program.id, EarningRule.active.is_(True))
            .order_by(EarningRule.id)
        ):
            rule_kind = self.registry.earning_rule_types.get(rule.type)
            if rule_kind is not None and kind in rule_kind.events:
                rules.append(_RuleSpec(rule.id, rule.name, rule_kind, rule.config))
        return rules

    def context(self, kind, member_view, occurred_at, **extra) -> EarningContext:
        return EarningContext(
            kind=kind, program_slug=self.program.slug, currency=self.program.currency,
            member=member_view, occurred_at=occurred_at, now=self.clock.now(), **extra,
        )

    def evaluate(self, rule: _RuleSpec, context: EarningContext, member: Member | None) -> list[ComputedAward]:
        def count_awards(since: datetime | None) -> int:
            if member is None or rule.id is None:
                return 0  # a dry run's new member, or a draft rule: nothing awarded yet
            return self.count_awards(member.id, rule.id, since)

        return evaluate_rule(rule.type, rule.id, rule.name, rule.config, replace(context, count_awards=count_awards))

    def count_awards(self, member_id: int, rule_id: int, since: datetime | None) -> int:
        """How many awards ``rule_id`` posted to the member for events that happened at ``since`` or later.

        Awards are ledger entries, and entries carry no event time, so each
        is dated by what earned it, without a column of its own: an order's
        award (keyed ``order:<order id>:rule:<rule id>[:part]``, sourced
        from the order) by the order's ``paid_at``, which is when it
        happened; a custom event's (``event:<event id>:rule:…``, sourced
        from the rule) by its record's ``occurred_at``; an enrolment's or a
        birthday's by its posting, which is when it happened (and custom
        events processed before they were recorded fall back to that too).
        Awards of a cancelled order do not count; refunds leave the count
        as it is. One count per source, on the member's entries.
        """
        order_key = literal("order:") + cast(Order.id, String) + literal(f":rule:{rule_id:d}")
        orders = (
            select(func.count()).select_from(Entry)
            .join(Order, (Order.program_id == Entry.program_id) & (Order.external_id == Entry.source_id))
            .where(
                Entry.member_id == member_id, Entry.kind == "earn", Entry.source_type == "order",
                Order.member_id == member_id, Order.status != "cancelled",
                # Order ids are digits: no LIKE wildcard in the pattern but the trailing part's.
                or_(Entry.idempotency_key == order_key, Entry.idempotency_key.like(order_key + literal(":%"))),
            )
        )
        event_key = literal("event:") + CustomEventRecord.event_id + literal(f":rule:{rule_id:d}")
        events = (
            select(func.count()).select_from(Entry)
            .outerjoin(CustomEventRecord, (CustomEventRecord.program_id == Entry.program_id)
                       & (CustomEventRecord.member_id == Entry.member_id)
                       & or_(Entry.idempotency_key == event_key,  # event ids may hold wildcards: no LIKE
                             func.substr(Entry.idempotency_key, 1, func.length(event_key) + 1) == event_key + literal(":")))
            .where(
                Entry.member_id == member_id, Entry.kind == "earn",
                Entry.source_type == "rule", Entry.source_id == str(rule_id),
            )
        )
        if since is not None:
            orders = orders.where(Order.paid_at >= since)
            events = events.where(func.coalesce(CustomEventRecord.occurred_at, Entry.created_at) >= since)
        return self.session.scalar(orders) + self.session.scalar(events)

    def _award_simple(self, member: Member, context: EarningContext, key_prefix: str, cause: dict) -> Outcome:
        """Post the awards of non-order events (enrolment, birthday, custom events).

        An event already awarded is a duplicate without evaluating again: a
        repeat days later must not earn under rules added since, nor be
        refused because its points would now expire on another date.
        """
        outcome = Outcome("processed", member=member)
        rules = self.active_rules(context.kind)
        if rules and self.session.scalar(select(Entry.id).where(
            Entry.program_id == self.program.id,
            Entry.idempotency_key.in_([f"{key_prefix}:rule:{rule.id}" for rule in rules]),
        ).limit(1)) is not None:
            outcome.status = "duplicate"
            return outcome
        for rule in rules:
            for award in self.evaluate(rule, context, member):
                posting = self.ledger.earn(
                    member, award.points,
                    key=f"{key_prefix}:rule:{rule.id}" + (f":{award.part}" if award.part else ""),
                    expires_at=lot_expiry(self.program, context.occurred_at),
                    reason=_reason(rule, award), actor="pipeline", source=("rule", str(rule.id)),
                )
                self._posted(member, award, posting, {**cause, "rule": rule.name})
                outcome.awards.append((award, posting))
        if outcome.awards and all(p.replayed for _, p in outcome.awards):
            outcome.status = "duplicate"
        elif outcome.awards:
            self.tier_check([member.id])
        return outcome

    def tier_check(self, member_ids) -> None:
        """An order or points can qualify members for a higher tier: move them up now, not tonight."""
        upgrade_on_event(self.session, self.program, member_ids, registry=self.registry, clock=self.clock)

    def _posted(self, member, award, posting: Receipt, cause: dict) -> None:
        if not posting.replayed:
            self.registry.points_posted(program=self.program, member=member, posting=posting, cause=cause)

    # --- orders ------------------------------------------------------------

    def order_view(self, event: OrderPaid) -> OrderView:
        """Validate an order's money (currency, precision, no floats) into the view rules see."""
        currency = (event.currency or "").upper()
        if currency != self.program.currency:
            raise errors.InvalidInput(
                f"order {event.order_id} is in {event.currency}; program {self.program.slug} earns on {self.program.currency}"
            )
        if not event.order_id:
            raise errors.InvalidInput("an order needs the store's order id")

        def amount(value, name):
            parsed = money.to_decimal(value, currency, field=name)
            if parsed < 0:
                raise errors.InvalidInput(f"{name} must not be negative")
            return parsed

        lines = tuple(
            LineView(
                str(line.id), line.product_id, line.sku, line.title, int(line.quantity),
                amount(line.total, f"lines[{i}].total"), tuple(line.categories),
            )
            for i, line in enumerate(event.lines)
        )
        return OrderView(
            external_id=str(event.order_id), currency=currency,
            subtotal=amount(event.subtotal, "subtotal"), discount=amount(event.discount, "discount"),
            tax=amount(event.tax, "tax"), shipping=amount(event.shipping, "shipping"),
            total=amount(event.total, "total"), lines=lines,
            discount_codes=tuple(event.discount_codes), attributes=dict(event.attributes),
        )

    def _record_order(self, event: OrderPaid, view: OrderView, member: Member | None, occurred: datetime):
        """Insert the order as paid, or mark a known open order paid. ``(order, fresh)``."""
        order = self.session.scalar(
            select(Order).where(Order.program_id == self.program.id, Order.external_id == view.external_id)
        )
        if order is not None and order.status != "open":
            return order, False
        values = self.paid_order_values(event, view, member, occurred)
        if order is None:
            order = Order(**values)
            self.session.add(order)
        else:
            for name in ("program_id", "external_id", "refunded_minor", "placed_at", "created_at"):
                del values[name]  # an open order keeps what it was created with
            for name, value in values.items():
                setattr(order, name, value)
        self.session.flush()
        return order, True

    def paid_order_values(self, event: OrderPaid, view: OrderView, member: Member | None, occurred: datetime) -> dict:
        """The columns of a new paid order (also what paying a known open order sets)."""
        now = self.clock.now()
        minor = lambda value: money.to_minor(value, view.currency)  # noqa: E731
        return dict(
            program_id=self.program.id, external_id=view.external_id, refunded_minor=0,
            placed_at=occurred, created_at=now,
            member_id=member.id if member else None, origin=event.origin, currency=view.currency,
            subtotal_minor=minor(view.subtotal), discount_minor=minor(view.discount), tax_minor=minor(view.tax),
            shipping_minor=minor(view.shipping), total_minor=minor(view.total),
            lines=[
                {"id": line.id, "title": line.title, "quantity": line.quantity, "total": str(line.total),
                 "product_id": line.product_id, "sku": line.sku, "categories": list(line.categories)}
                for line in view.lines
            ],
            discount_codes=list(view.discount_codes), attributes=view.attributes,
            shipping_key=event.shipping_address.key() if event.shipping_address else None,
            status="paid", paid_at=occurred, updated_at=now,
        )

    def _order_and_member(self, external_id: str) -> tuple[Order, Member | None]:
        """The order and its member, locked in the pipeline's order: member first, then order.

        (Paying an order locks the member, then writes the order; taking
        them the other way round here could deadlock with it.)
        """
        query = select(Order).where(Order.program_id == self.program.id, Order.external_id == str(external_id))
        order = self.session.scalar(query)
        if order is None:
            raise errors.OrderNotFound(
                f"order {external_id} is not known yet in program {self.program.slug}", order_id=str(external_id)
            )
        member = self.session.get(Member, order.member_id) if order.member_id else None
        if member is not None:
            self.ledger.hold(member.id)
        order = self.session.scalar(query.with_for_update().execution_options(populate_existing=True))
        return order, member

    def _earned(self, order: Order) -> list[tuple[int, int, int]]:
        """The order's earn entries: ``(entry id, amount, reversed so far)``."""
        entries = self.session.execute(
            select(Entry.id, Entry.amount)
            .where(
                Entry.member_id == order.member_id, Entry.kind == "earn",
                Entry.source_type == "order", Entry.source_id == order.external_id,
            )
            .order_by(Entry.id)
        ).all()
        reversed_ = dict(
            self.session.execute(
                select(Entry.reverses_id, func.sum(Entry.amount))
                .where(Entry.reverses_id.in_([e.id for e in entries]))
                .group_by(Entry.reverses_id)
            ).all()
        ) if entries else {}
        # int(): SUM over BIGINT is NUMERIC (a Decimal) on PostgreSQL.
        return [(e.id, e.amount, int(reversed_.get(e.id, 0))) for e in entries]

    def _claw_back(self, earned, points: int, *, key: str, reason: str) -> list[Receipt]:
        """Reverse ``points`` across the order's entries, each capped at what it has left."""
        postings = []
        for entry_id, amount, reversed_ in earned:
            if points <= 0:
                break
            take = min(amount - reversed_, points)
            if take <= 0:
                continue
            postings.append(
                self.ledger.reverse(entry_id, take, key=f"{key}:entry:{entry_id}", reason=reason, actor="pipeline")
            )
            points -= take
        return postings

    def _when(self, event) -> datetime:
        return event.occurred_at or self.clock.now()
