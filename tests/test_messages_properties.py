"""The sending state machine under random answers, clock moves and dead senders (hypothesis).

A scripted channel answers each delivery's attempts from a plan drawn by
hypothesis (delivered, retry with a code, timed out, failed, skipped, or
an exception); between sends the clock moves by the lease, a backoff, a
day or more, and senders "die" (they claim deliveries and never record
them, so only the lease brings those back). After every send:

* each delivery is in one state: delivered, failed or skipped for good;
  pending with its next attempt in the future (or on a disabled
  destination); or sending under a lease that has not run out;
* its attempts are its sends plus its dead claims, never more than
  ``MAX_ATTEMPTS``; nothing is sent after a final answer, so a delivery
  is delivered at most once, and only a retry (a non-2xx, a timeout, an
  exception) or a lease that ran out makes it go again;
* its status is what its last answer says;
* a destination is disabled only once ``DISABLE_AFTER`` has passed since
  the first failure after its last success, and then only on a failure.

At the end the clock runs on until nothing is left to send, and each
delivery must have ended as its plan says.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from loyalty.messages import outbox, sending
from loyalty.messages.dispatch import dispatch
from loyalty.models import Delivery, Destination, Member, OutboxEvent
from loyalty.plugin_api import NotificationChannel, Outcome, hookimpl

ANSWERS = ("delivered", "retry", "timeout", "failed", "skipped", "exception")
RETRIES = ("retry", "timeout", "exception")
DESTINATIONS = 2


class Scripted(NotificationChannel):
    """Answers each (event, destination) from its plan, in order (then "delivered"); logs every answer with its time."""

    def __init__(self):
        super().__init__(name="scripted", title="Scripted")
        self.plans: dict[tuple[str, int], list[str]] = {}
        self.log: dict[tuple[str, int], list[tuple]] = defaultdict(list)
        self.lock = threading.Lock()

    def send(self, message):
        key = (message.event_uid, message.destination_id)
        with self.lock:
            plan = self.plans.get(key, [])
            answer = plan.pop(0) if plan else "delivered"
            self.log[key].append((message.now, answer, message.attempt))
        if answer == "exception":
            raise RuntimeError("the channel broke")
        return {
            "delivered": Outcome.delivered(200),
            "retry": Outcome.retry("HTTP 500", 500),
            "timeout": Outcome.retry("timed out after 10 s"),
            "failed": Outcome.failed("HTTP 410: gone", 410),
            "skipped": Outcome.skipped("not for this receiver"),
        }[answer]


SCRIPTED = Scripted()


class Plugin:
    @hookimpl
    def register_notification_channels(self, register):
        register(SCRIPTED)


pytestmark = pytest.mark.plugins(Plugin())

plan = st.lists(st.sampled_from(ANSWERS), max_size=sending.MAX_ATTEMPTS + 1)
moves = st.sampled_from(
    [
        timedelta(seconds=1),
        sending.LEASE + timedelta(seconds=1),
        *sending.BACKOFF[:4],
        timedelta(hours=10),
        timedelta(days=1),
        timedelta(days=3),
    ]
)
action = st.one_of(
    st.tuples(st.just("post"), st.lists(st.tuples(*[plan] * DESTINATIONS), min_size=1, max_size=3)),
    st.tuples(st.just("send")),
    st.tuples(st.just("advance"), moves),
    st.tuples(st.just("die"), st.integers(1, 4)),  # a sender claims this many and is never heard of again
)


def fresh(session, program, clock) -> list[int]:
    """No events, deliveries or destinations left from the last example; this one's destinations."""
    for model in (Delivery, OutboxEvent, Destination):
        session.execute(delete(model))
    SCRIPTED.plans.clear()
    SCRIPTED.log.clear()
    made = [
        Destination(
            program_id=program.id,
            channel="scripted",
            name=f"d{n}",
            events=["*"],
            config={},
            status="active",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        for n in range(DESTINATIONS)
    ]
    session.add_all(made)
    session.commit()
    return [d.id for d in made]


def post(session, program, member, clock, destinations, plans) -> None:
    for per_destination in plans:
        outbox.record(session, program.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
        uid = session.scalar(select(OutboxEvent.uid).order_by(OutboxEvent.id.desc()).limit(1))
        for destination, answers in zip(destinations, per_destination):
            SCRIPTED.plans[(uid, destination)] = list(answers)
    session.commit()


def check(session, clock, dead: Counter) -> None:
    """The invariants after a send at ``clock.now()`` (see the module's docstring)."""
    session.expire_all()
    now = clock.now()
    uids = dict(session.execute(select(OutboxEvent.id, OutboxEvent.uid)).all())
    destinations = {d.id: d for d in session.scalars(select(Destination))}
    for d in session.scalars(select(Delivery)):
        answers = SCRIPTED.log.get((uids[d.event_id], d.destination_id), [])
        where = f"delivery {d.id}: {d.status}, {d.attempts} attempts, answers {[a for _, a, _ in answers]}"
        assert d.attempts == len(answers) + dead[d.id], where
        assert d.attempts <= sending.MAX_ATTEMPTS, where
        assert all(answer in RETRIES for _, answer, _ in answers[:-1]), where  # only a retry goes again
        assert [attempt for _, _, attempt in answers] == sorted({attempt for _, _, attempt in answers}), where
        last = answers[-1][1] if answers else None
        if d.status == "pending":
            assert last in (None, *RETRIES) and d.attempts < sending.MAX_ATTEMPTS, where
            assert d.next_attempt_at > now or destinations[d.destination_id].status == "disabled", where
        elif d.status == "sending":
            assert d.lease_until >= now or destinations[d.destination_id].status == "disabled", where
        elif d.status == "failed":
            assert last == "failed" or (last in RETRIES and d.attempts == sending.MAX_ATTEMPTS) or last is None, where
        else:
            assert d.status in ("delivered", "skipped") and last == d.status, where
    for destination in destinations.values():
        if destination.status != "disabled":
            continue
        answers = sorted(
            (when, answer)
            for (_, dest), log in SCRIPTED.log.items()
            if dest == destination.id
            for when, answer, _ in log
        )
        # Answers of one send share its instant and are recorded in any order: a success at the very moment of
        # the disabling failure may have come after it. The first failure since the last success before that
        # moment is the earliest the destination can have been failing since.
        failures = [when for when, answer in answers if answer in (*RETRIES, "failed")]
        disabled_at = max(failures)
        last_success = max((w for w, answer in answers if answer == "delivered" and w < disabled_at), default=None)
        since = min(when for when in failures if last_success is None or when >= last_success)
        assert disabled_at - since >= sending.DISABLE_AFTER, (destination.disabled_reason, answers)


@settings(
    max_examples=int(os.environ.get("OUTBOX_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # a sender dies on each attempt, the last one too
    actions=[("post", [(["retry"] * 8, [])])]
    + [("die", 1), ("advance", sending.LEASE + timedelta(seconds=1))] * sending.MAX_ATTEMPTS
    + [("send",)],
)
@example(  # a receiver down for a week: retried, dead-lettered, the destination disabled
    actions=[
        step
        for day in range(7)
        for step in (("post", [(["timeout"] * 9, ["delivered"])]), ("send",), ("advance", timedelta(days=1)))
    ],
)
@given(actions=st.lists(action, max_size=25))
def test_any_answers_and_any_timing_keep_the_sending_invariants(app, session, program, loyalty_enrol, clock, actions):
    member = session.scalar(select(Member).where(Member.program_id == program.id)) or loyalty_enrol("c-1")
    destinations = fresh(session, program, clock)
    registry, settings_ = app.extensions["loyalty.registry"], app.config
    dead: Counter = Counter()
    for step in actions:
        if step[0] == "post":
            post(session, program, member, clock, destinations, step[1])
        elif step[0] == "advance":
            clock.advance(step[1])
        elif step[0] == "die":
            dispatch(session, registry=registry, settings=settings_, now=clock.now())
            session.commit()
            for claimed in sending.claim(
                session, registry=registry, settings=settings_, now=clock.now(), limit=step[1]
            ):
                dead[claimed.delivery_id] += 1
        else:
            sending.send_due(session, registry=registry, settings=settings_, clock=clock)
            session.commit()
            check(session, clock, dead)

    # Then time runs on until nothing is left to send: each delivery ends as its plan says.
    for _ in range(sending.MAX_ATTEMPTS + 2):
        clock.advance(timedelta(hours=11))
        sending.send_due(session, registry=registry, settings=settings_, clock=clock)
        session.commit()
        check(session, clock, dead)
    uids = dict(session.execute(select(OutboxEvent.id, OutboxEvent.uid)).all())
    active = {d.id for d in session.scalars(select(Destination).where(Destination.status == "active"))}
    for d in session.scalars(select(Delivery).where(Delivery.destination_id.in_(active))):
        answers = [answer for _, answer, _ in SCRIPTED.log[(uids[d.event_id], d.destination_id)]] if d.attempts else []
        expected = answers[-1] if answers and answers[-1] not in RETRIES else "failed"
        assert d.status == expected, (d.status, d.attempts, answers, dead[d.id])
    assert not session.scalar(
        select(func.count()).where(Delivery.status == "sending", Delivery.destination_id.in_(active))
    )
