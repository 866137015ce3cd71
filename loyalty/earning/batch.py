"""A worker's batch of storefront events, set-based: waves of events that do not depend on each other.

:func:`loyalty.earning.pipeline.process` handles one event in about a
dozen statements (find the member, lock them, look for the order, insert
it, count earlier orders, post each award, ...), and the inbox wraps each
in a savepoint. A busy store's queue is mostly paid orders, of new
customers as much as of members, with refunds, cancellations and repeats
in between; :func:`process_together` does the same work for a whole batch
with a fixed number of statements per *wave*.

Each event has keys: its customer (a refund's or a cancellation's is the
customer of its order, from the database or from a paid order earlier in
the batch) and its order id. An event goes in the wave after the last wave
holding one of its keys, so within a wave no two events share a member or
an order and their order among themselves cannot matter; across waves,
every member's and every order's events keep their arrival order (a
member's second order sees the first as an earlier order; a refund comes
after its order is paid). A wave is processed in steps that each cost a
few statements whatever its size:

* customers not enrolled yet are enrolled together
  (:func:`loyalty.programs.members.enrol_many`), with the enrolled hook
  and the sign-up rules (:meth:`Pipeline.welcome`);
* paid orders: known ones are duplicates (or ignored, when cancelled);
  new ones are inserted together, every rule runs per order with the same
  context as one by one, and the awards are posted through
  :meth:`loyalty.ledger.Ledger.earn_new`;
* refunds and cancellations: :func:`loyalty.earning.batch_changes.process_order_changes`.

What a step cannot take as it is (a guest checkout, a suspended member,
an open order now paid, an order a rule refuses, a refund of an unknown
order, ...) is handed back: ``one_by_one(index)`` processes it with
:func:`~loyalty.earning.pipeline.process` right after its wave, in arrival
order, where its error is recorded on its own delivery. Events that may
touch a referral (:func:`loyalty.referrals.attribution.needs_one_by_one`)
and kinds no step takes (custom events, birthdays) are *barriers*: all
before them is processed first, then they alone, then the rest, exactly
in arrival order, because a referral reaches beyond its own member (the
referrer, their caps). The result is what processing the events one after
another gives; ``tests/test_worker_batches.py`` checks it on random
sequences.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import errors
from loyalty.clock import Clock
from loyalty.db import insert_many
from loyalty.earning.batch_changes import process_order_changes
from loyalty.earning.evaluation import member_view
from loyalty.earning.events import CustomerCreated, Event, OrderCancelled, OrderPaid, OrderRefunded
from loyalty.earning.orders import order_earning, order_view, paid_order_values
from loyalty.earning.pipeline import Outcome, Pipeline, PipelineCache
from loyalty.models import Member, Order, Program
from loyalty.programs.members import enrol_many, new_member_values
from loyalty.referrals.attribution import needs_one_by_one
from loyalty.rewards.redeem import mark_used_many

#: The kinds a wave's steps take; any other event is a barrier.
BATCHED = (OrderPaid, OrderRefunded, OrderCancelled, CustomerCreated)
CHANGES = (OrderRefunded, OrderCancelled)


def process_together(
    session: Session,
    program: Program,
    events: list[Event],
    *,
    registry,
    clock: Clock,
    one_by_one: Callable[[int], None],
    cache: PipelineCache | None = None,
) -> list[Outcome | None]:
    """Process ``events`` (one program's, in arrival order) in waves; see the module docstring.

    Returns one item per event: its :class:`~loyalty.earning.pipeline.Outcome`
    (a paid order's carries no ``order`` object: none is loaded), or ``None`` for an event handed to
    ``one_by_one``, which the caller processes (and records) itself when
    called. The caller owns the transaction; an unexpected error leaves it
    to be rolled back whole.
    """
    pipeline = Pipeline(session, program, registry=registry, clock=clock, cache=cache)
    results: list[Outcome | None] = [None] * len(events)
    pipeline.load_tiers()
    start = 0
    while start < len(events):
        barrier = _next_barrier(pipeline, events, start)
        for wave in _waves(pipeline, events, range(start, barrier)):
            for index in _process_wave(pipeline, events, wave, results):
                one_by_one(index)
        if barrier < len(events):
            one_by_one(barrier)
        start = barrier + 1
    return results


def _next_barrier(pipeline: Pipeline, events: list[Event], start: int) -> int:
    """The first event from ``start`` on that must be processed alone, in its place (or ``len(events)``).

    Asked again after each barrier, because a barrier can start a referral
    that makes a later order of the same friend one too.
    """
    paid = {}
    for i in range(start, len(events)):
        event = events[i]
        if not isinstance(event, BATCHED):
            break
        if isinstance(event, OrderPaid) and event.customer is not None:
            paid[i] = event
    else:
        i = len(events)
    referred = needs_one_by_one(pipeline.session, pipeline.program, paid)
    return min(referred | {i})


def _waves(pipeline: Pipeline, events: list[Event], indices: range) -> list[list[int]]:
    """The events at ``indices`` in waves: each after the last wave that holds one of its keys."""
    if not indices:
        return []
    changed = {str(events[i].order_id) for i in indices if isinstance(events[i], CHANGES)}
    owner_of = (
        dict(
            pipeline.session.execute(
                select(Order.external_id, Member.external_id)
                .join(Member, Member.id == Order.member_id)
                .where(Order.program_id == pipeline.program.id, Order.external_id.in_(changed))
            ).all()
        )
        if changed
        else {}
    )
    last: dict[tuple, int] = {}
    waves: list[list[int]] = []
    for i in indices:
        event = events[i]
        if isinstance(event, CHANGES):
            order = str(event.order_id)
            customer = owner_of.get(order)
            keys = {("order", order)} | ({("customer", customer)} if customer is not None else set())
        else:
            customer = _customer_id(event)
            keys = {("customer", customer)} if customer is not None else set()
            if isinstance(event, OrderPaid):
                order = str(event.order_id)
                keys.add(("order", order))
                if customer is not None:
                    owner_of.setdefault(order, customer)
        wave = max((last[key] + 1 for key in keys if key in last), default=0)
        for key in keys:
            last[key] = wave
        if wave == len(waves):
            waves.append([])
        waves[wave].append(i)
    return waves


def _customer_id(event) -> str | None:
    return (event.customer.external_id or "").strip() if event.customer is not None else None


def _process_wave(pipeline: Pipeline, events: list[Event], wave: list[int], results: list) -> list[int]:
    """Process one wave's events set-based into ``results``; the indices handed back, in arrival order."""
    handed: list[int] = []
    views = {}
    for i in wave:
        if isinstance(events[i], OrderPaid):
            try:  # before anything is written, as one by one: a refused order enrols nobody
                views[i] = order_view(pipeline.program, events[i])
            except errors.LoyaltyError:
                handed.append(i)  # one by one records why
    members = _members(
        pipeline, events, [i for i in wave if i in views or isinstance(events[i], CustomerCreated)], results, handed
    )
    _paid_orders(pipeline, events, {i: v for i, v in views.items() if i in members}, members, results, handed)
    changes = [(i, events[i]) for i in wave if isinstance(events[i], CHANGES)]
    if changes:
        done = process_order_changes(pipeline, changes)
        for i, _ in changes:
            if i in done:
                results[i] = done[i]
            else:
                handed.append(i)
    return sorted(handed)


def _members(pipeline: Pipeline, events, wave: list[int], results: list, handed: list[int]) -> dict[int, Member]:
    """The active member of each paid order and customer event of the wave, new customers enrolled together.

    ``{index: member}``; a guest checkout, an inactive member or a
    customer who cannot be enrolled as given is handed back. A customer
    event is done here: ``processed`` when it enrolled, else ``duplicate``.
    """
    session, program = pipeline.session, pipeline.program
    wanted = {i: _customer_id(events[i]) for i in wave if isinstance(events[i], (OrderPaid, CustomerCreated))}
    for i in [i for i, customer in wanted.items() if customer is None]:
        handed.append(i)  # a guest checkout: one by one records the order without a member
        del wanted[i]
    known = (
        {
            member.external_id: member
            for member in session.scalars(
                select(Member).where(Member.program_id == program.id, Member.external_id.in_(set(wanted.values())))
            )
        }
        if wanted
        else {}
    )
    new, fresh = [], []
    for i, customer in wanted.items():
        if customer in known:
            continue
        given = events[i].customer
        try:
            new.append(
                new_member_values(
                    program, external_id=customer, email=given.email or None, name=given.name, birthday=given.birthday
                )
            )
        except errors.LoyaltyError:
            handed.append(i)
            continue
        fresh.append(i)
    enrolled = enrol_many(session, program, new, clock=pipeline.clock)
    pipeline.welcome(enrolled)
    known.update((member.external_id, member) for member in enrolled)
    found = {}
    for i, customer in wanted.items():
        member = known.get(customer)
        if member is None:
            continue  # handed back above
        if isinstance(events[i], CustomerCreated):
            results[i] = Outcome("processed" if i in fresh else "duplicate", member=member)
        elif member.status != "active":
            handed.append(i)
        else:
            found[i] = member
    return found


def _paid_orders(pipeline: Pipeline, events, views: dict, members: dict[int, Member], results, handed) -> None:
    """The wave's paid orders (``{index: order view}``) of active members: repeats, or new orders posted together."""
    if not views:
        return
    session, program = pipeline.session, pipeline.program
    pipeline.ledger.hold_many(members[i].id for i in views)
    known = dict(
        session.execute(
            select(Order.external_id, Order.status).where(
                Order.program_id == program.id, Order.external_id.in_([view.external_id for view in views.values()])
            )
        ).all()
    )
    fresh = {}
    for i, view in views.items():
        status = known.get(view.external_id)
        if status is None:
            fresh[i] = view
        elif status == "open":
            handed.append(i)  # a created order now paid: one by one updates its row
        else:
            results[i] = Outcome(
                "ignored" if status == "cancelled" else "duplicate",
                f"order {view.external_id} is already {status}",
                members[i],
            )
    if not fresh:
        return
    earlier_orders = dict(
        session.execute(
            select(Order.member_id, func.count())
            .where(Order.member_id.in_([members[i].id for i in fresh]), Order.paid_at.is_not(None))
            .group_by(Order.member_id)
        ).all()
    )
    evaluated = []
    for i, view in fresh.items():
        event, member = events[i], members[i]
        occurred = pipeline.occurred_at(event)
        seen = member_view(session, member, previous_paid_orders=earlier_orders.get(member.id, 0))
        context = pipeline.context("order_paid", seen, occurred, order=view)
        try:
            awards = [
                (rule, award)
                for rule in pipeline.active_rules("order_paid")
                for award in pipeline.evaluate(rule, context, member)
            ]
        except errors.LoyaltyError:
            handed.append(i)  # one by one, where the error is recorded on its own delivery
            continue
        evaluated.append((i, event, view, member, occurred, awards))
    if not evaluated:
        return
    order_ids = insert_many(
        session.connection(),
        Order.__table__,
        [
            paid_order_values(program, pipeline.clock, event, view, member, occurred)
            for _, event, view, member, occurred, _ in evaluated
        ],
    )
    # A reward's code on an order: its redemption is used.
    mark_used_many(
        session,
        program,
        [
            (order_id, view.discount_codes, occurred)
            for (_, _, view, _, occurred, _), order_id in zip(evaluated, order_ids)
        ],
    )
    earnings, owners = [], []
    for (i, _, view, member, occurred, awards), order_id in zip(evaluated, order_ids):
        results[i] = Outcome("processed", member=member)
        for rule, award in awards:
            earnings.append(order_earning(program, member, order_id, view.external_id, occurred, rule, award))
            owners.append((i, view.external_id, rule, award))
    postings = pipeline.ledger.earn_new(earnings)
    for (i, external_id, rule, award), posting in zip(owners, postings):
        pipeline.order_posted(results[i].member, external_id, rule, posting)
        results[i].awards.append((award, posting))
    pipeline.tier_check([member.id for _, _, _, member, _, _ in evaluated])
