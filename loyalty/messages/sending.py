"""Sending deliveries: claim what is due, send it outside any transaction, record what became of it.

* **Claiming.** A sender marks due deliveries ``sending`` with a lease
  (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite has one writer) and
  commits before it sends, so no ledger commit or webhook intake waits for
  a receiver, and no two senders hold one delivery. A sender that dies
  mid-send leaves the lease to run out; the delivery is then due again and
  goes once more with the same ``webhook-id`` (receivers dedupe on it).
* **Sending.** Channels send in a pool of threads, at most
  :data:`PER_DESTINATION` at a time to one destination, and each delivery
  is recorded as soon as it is done: a slow or dead receiver holds its own
  deliveries back, nobody else's.
* **Retrying.** A delivery that fails is tried again after
  :data:`BACKOFF` (8 attempts over about a day), then dead-lettered as
  ``failed`` (``loyalty outbound replay`` and the admin send it again). A
  destination whose every attempt failed for :data:`DISABLE_AFTER` is
  disabled, with the reason, until a person enables it again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from loyalty.clock import Clock
from loyalty.messages import templates, unsubscribe
from loyalty.messages.channels import Message, Outcome
from loyalty.messages.dispatch import dispatch
from loyalty.messages.payloads import member_part
from loyalty.models import Delivery, Destination, Member, OutboxEvent, Program
from loyalty.outage import Outage, is_outage

log = logging.getLogger("loyalty.messages")

#: The wait after each failed attempt: 8 attempts in all, over about 27 hours (as Svix retries).
BACKOFF = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
#: How long a claimed delivery is a sender's: well beyond a send's longest timeout (10 s).
LEASE = timedelta(minutes=2)
#: A destination failing this long, every attempt, is disabled.
DISABLE_AFTER = timedelta(days=5)
#: Deliveries in flight at once, in all, and to one destination.
CONCURRENCY = 8
PER_DESTINATION = 2


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds: which attempt it is, and the message to send."""

    delivery_id: int
    destination_id: int
    attempt: int
    channel: object
    message: Message | None
    #: Why it cannot be sent at all (a program's template that no longer renders): recorded as its outcome.
    problem: Outcome | None = None


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def _due(now: datetime):
    return or_(
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until < now),  # its sender died mid-send
    )


def claim(
    session: Session,
    *,
    registry,
    settings: Mapping,
    now: datetime,
    limit: int,
    busy: Counter | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries (no more per destination than :data:`PER_DESTINATION`, ``busy`` included).

    Commits the claim before returning, so the sending happens outside any transaction.
    """
    busy = Counter(busy or {})
    query = (
        select(Delivery)
        .join(Destination, Destination.id == Delivery.destination_id)
        .where(_due(now), Destination.status == "active")
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit * 4)
    )
    full = sorted(destination for destination, sending_now in busy.items() if sending_now >= PER_DESTINATION)
    if full:
        # Left out in the query, not after it: a slow endpoint's backlog (the oldest rows) would fill every
        # row fetched and hold everybody else's deliveries back (bench/outbound.py measured 3/s instead of 170/s).
        query = query.where(Delivery.destination_id.not_in(full))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    taken = []
    for delivery in session.scalars(query):
        if len(taken) == limit:
            break
        if delivery.status == "sending" and delivery.attempts >= MAX_ATTEMPTS:
            # Its sender died during the last attempt: dead-lettered, as a last attempt that failed is.
            delivery.status, delivery.lease_until = "failed", None
            delivery.last_error = "the sender stopped during the last attempt (its lease ran out)"
            continue
        if busy[delivery.destination_id] >= PER_DESTINATION:
            continue
        busy[delivery.destination_id] += 1
        delivery.status = "sending"
        delivery.attempts += 1
        delivery.lease_until = now + LEASE
        delivery.last_attempt_at = now
        taken.append(delivery)
    claimed = [_claimed(session, delivery, registry, settings, now) for delivery in taken]
    session.commit()
    return claimed


def _claimed(session, delivery: Delivery, registry, settings, now) -> Claimed:
    destination = session.get(Destination, delivery.destination_id)
    program = session.get(Program, delivery.program_id)
    member = session.get(Member, delivery.member_id) if delivery.member_id is not None else None
    events = list(
        session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(delivery.event_ids)).order_by(OutboxEvent.id))
    )
    payloads = tuple(event.payload for event in events)
    if not payloads:  # its events were pruned while it waited (a destination disabled for longer than the retention)
        gone = Outcome.failed("its events were deleted after the retention period before it could be sent")
        return Claimed(delivery.id, destination.id, delivery.attempts, None, None, gone)
    channel = registry.notification_channels.get(destination.channel)
    member_data = member_part(member)
    if member_data is not None:
        member_data["unsubscribe_url"] = unsubscribe.link(settings, program, member)
    program_data = {"slug": program.slug, "name": program.name, "currency": program.currency}
    content = None
    if channel is not None and channel.templates:
        try:
            content = templates.compose(
                session, channel, delivery.event_type, program=program_data, member=member_data, payloads=payloads
            )
        except Exception as exc:  # a program's own template: its error is this delivery's, not the sender's
            problem = Outcome.failed(f"the message could not be written from its template: {type(exc).__name__}: {exc}")
            return Claimed(delivery.id, destination.id, delivery.attempts, channel, None, problem)
    message = Message(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        event_uid=events[0].uid,
        event_type=delivery.event_type,
        payload=payloads[0],
        payloads=payloads,
        destination_id=destination.id,
        destination=dict(destination.config),
        program=program_data,
        member=member_data,
        content=content,
        settings=settings,
        now=now,
    )
    return Claimed(delivery.id, destination.id, delivery.attempts, channel, message)


def send_one(claimed: Claimed) -> Outcome:
    """Call the channel; an exception, or an answer that is not an :class:`Outcome`, counts as a retry."""
    if claimed.problem is not None:
        return claimed.problem
    if claimed.channel is None:
        return Outcome.retry("the channel of this destination is not installed")
    try:
        outcome = claimed.channel.send(claimed.message)
    except Exception as exc:  # a plugin's bug must not stop the sender; it is recorded and retried
        log.exception("channel %s raised on delivery %s", claimed.channel.name, claimed.delivery_id)
        return Outcome.retry(f"the channel raised {type(exc).__name__}: {exc}")
    if not isinstance(outcome, Outcome):
        return Outcome.retry(f"the channel returned {outcome!r}, not an Outcome")
    return outcome


def settle(session: Session, claimed: Claimed, outcome: Outcome, now: datetime) -> str | None:
    """Record one attempt's outcome; the delivery's new status (``None``: another sender holds it now). The caller commits."""
    status = _record(session, claimed, outcome, now)
    if status is not None:
        _mark_destination(session, claimed.destination_id, [outcome], now)
    return status


def settle_many(session: Session, finished: list[tuple[Claimed, Outcome]], now: datetime) -> list[str | None]:
    """:func:`settle` for many, in one transaction; the statuses, in the order given. The caller commits.

    Rows are locked in one order whatever the sender: destination by
    destination, its deliveries first, then the destination itself. So
    several senders settling at once never wait on each other in a circle
    (settling one delivery after another, each with its destination,
    deadlocked two senders on the destinations' rows).
    """
    statuses: dict[int, str | None] = {}
    order = sorted(range(len(finished)), key=lambda i: (finished[i][0].destination_id, finished[i][0].delivery_id))
    groups: dict[int, list[int]] = {}
    for index in order:
        groups.setdefault(finished[index][0].destination_id, []).append(index)
    for destination_id, indexes in groups.items():
        for index in indexes:
            statuses[index] = _record(session, *finished[index], now)
        outcomes = [finished[index][1] for index in indexes if statuses[index] is not None]
        if outcomes:
            _mark_destination(session, destination_id, outcomes, now)
    return [statuses[index] for index in range(len(finished))]


def _record(session: Session, claimed: Claimed, outcome: Outcome, now: datetime) -> str | None:
    values: dict = {"lease_until": None, "response_code": outcome.code, "last_error": outcome.detail}
    if outcome.status == "delivered":
        values.update(status="delivered", delivered_at=now, last_error=None)
    elif outcome.status == "skipped":
        values.update(status="skipped")
    elif outcome.status == "retry" and claimed.attempt < MAX_ATTEMPTS:
        values.update(status="pending", next_attempt_at=now + backoff(claimed.attempt))
    else:
        values.update(status="failed")
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == claimed.delivery_id, Delivery.status == "sending", Delivery.attempts == claimed.attempt)
        .values(**values)
    )
    if done.rowcount == 0:
        return None  # the lease ran out and another sender claimed it: its outcome is the one that counts
    return values["status"]


def _mark_destination(session: Session, destination_id: int, outcomes: list[Outcome], now: datetime) -> None:
    """The destination's failing streak after these outcomes, in order; disabled once it lasted DISABLE_AFTER."""
    # FOR NO KEY UPDATE: a fan-out inserting deliveries of this destination (its foreign key's KEY SHARE) need not wait.
    destination = session.get(Destination, destination_id, with_for_update={"key_share": True})
    for outcome in outcomes:
        if outcome.status == "delivered":
            destination.failing_since = None
        elif outcome.status in ("retry", "failed"):
            destination.failing_since = destination.failing_since or now
            if destination.status == "active" and now - destination.failing_since >= DISABLE_AFTER:
                destination.status = "disabled"
                destination.disabled_reason = (
                    f"Disabled by the platform on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
                    f"{destination.failing_since:%Y-%m-%d %H:%M} UTC (last: {outcome.detail})."
                )
                log.warning("destination %s disabled: failing since %s", destination.id, destination.failing_since)


class Sender:
    """Sends what is due, continuously (the worker) or until nothing is (``loyalty outbound send``, the job).

    Only this object's thread touches the database; the pool's threads only
    run channels' ``send``.
    """

    def __init__(self, session, *, registry, settings: Mapping, clock: Clock, concurrency: int = CONCURRENCY):
        self.session = session
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.concurrency = concurrency
        self.in_flight: dict[Future, Claimed] = {}
        self.counts: Counter = Counter()

    def step(self, pool: ThreadPoolExecutor) -> bool:
        """Record what finished, fan out, claim and start sending; whether anything happened."""
        moved = self._settle_finished()
        free = self.concurrency - len(self.in_flight)
        if free > 0:
            now = self.clock.now()
            fanned = dispatch(self.session, registry=self.registry, settings=self.settings, now=now)
            self.session.commit()
            self.counts["events"] += fanned
            busy = Counter(claimed.destination_id for claimed in self.in_flight.values())
            claimed = claim(
                self.session, registry=self.registry, settings=self.settings, now=now, limit=free, busy=busy
            )
            for item in claimed:
                self.in_flight[pool.submit(send_one, item)] = item
            moved = moved or bool(fanned) or bool(claimed)
        return moved

    def _settle_finished(self) -> bool:
        """Record every finished send, in one transaction (:func:`settle_many`); on an outage they stay in flight."""
        finished = [future for future in self.in_flight if future.done()]
        if not finished:
            return False
        now = self.clock.now()
        statuses = settle_many(self.session, [(self.in_flight[f], f.result()) for f in finished], now)
        self.session.commit()
        for future, status in zip(finished, statuses):
            del self.in_flight[future]
            self.counts[status or "taken over"] += 1
        return True

    def wait(self, timeout: float) -> None:
        """Until a send finishes, or ``timeout``."""
        if self.in_flight:
            wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)

    def drain(self, pool: ThreadPoolExecutor) -> None:
        """Wait for every send under way and record it (a stop lets sends in flight finish)."""
        while self.in_flight:
            wait(list(self.in_flight), return_when=FIRST_COMPLETED)
            self._settle_finished()


def send_due(session, *, registry, settings: Mapping, clock: Clock, budget: timedelta | None = None) -> Counter:
    """Send everything due now (and what it fans out to), then return the counts; stop starting sends after ``budget``."""
    sender = Sender(session, registry=registry, settings=settings, clock=clock)
    started = clock.now()
    with ThreadPoolExecutor(max_workers=sender.concurrency, thread_name_prefix="loyalty-send") as pool:
        while budget is None or clock.now() - started < budget:
            if not sender.step(pool) and not sender.in_flight:
                break
            sender.wait(0.5)
        sender.drain(pool)
    return sender.counts


def run(
    session,
    *,
    registry,
    settings: Mapping,
    clock: Clock,
    stop: threading.Event,
    idle: float = 0.5,
    outage: Outage | None = None,
) -> Counter:
    """Send continuously until ``stop`` is set (the worker's thread); ride out database outages as the worker does."""
    outage = outage or Outage("sender", log)
    sender = Sender(session, registry=registry, settings=settings, clock=clock)
    with ThreadPoolExecutor(max_workers=sender.concurrency, thread_name_prefix="loyalty-send") as pool:
        while not stop.is_set():
            try:
                moved = sender.step(pool)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                session.remove()
                stop.wait(outage.failed(exc))
                continue
            outage.recovered()
            if not moved:
                if sender.in_flight:
                    sender.wait(idle)
                else:
                    stop.wait(idle)
        try:
            sender.drain(pool)
        except Exception as exc:
            if not is_outage(exc):
                raise
            log.warning(
                "stopping during an outage: %d deliveries stay claimed until their lease ends", len(sender.in_flight)
            )
    return sender.counts
