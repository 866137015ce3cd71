"""Property-based: random sequences of ledger operations keep every invariant.

Hypothesis draws a claw-back policy and a sequence of earn / release /
redeem / expire / adjust / reverse / replay operations over two members
while the clock moves. After every operation the invariants are checked
with the same code as ``loyalty verify``; a refused operation must leave
the ledger exactly as it was, and a replayed key must change nothing.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loyalty import errors
from loyalty.invariants import verify
from loyalty.ledger import Ledger
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from tests.helpers import snapshot

DAY = timedelta(days=1)
MEMBERS = 2

member_index = st.integers(0, MEMBERS - 1)
operation = st.one_of(
    st.tuples(
        st.just("earn"),
        member_index,
        st.integers(1, 500),
        st.booleans(),
        st.integers(0, 20),
        st.none() | st.integers(1, 60),
    ),
    # Redeem a share of the member's balance (over 100% asks for too much).
    st.tuples(st.just("redeem"), member_index, st.sampled_from([50, 100, 120]) | st.integers(1, 120)),
    st.tuples(st.just("adjust"), member_index, st.integers(-300, 300).filter(bool)),
    # Reverse one of the entries posted so far (counting back from the latest).
    st.tuples(st.just("reverse"), st.integers(0, 3), st.none() | st.integers(1, 300)),
    st.tuples(st.just("replay"), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.integers(1, 30)),
    st.tuples(st.just("release")),
    st.tuples(st.just("expire")),
)

_programs = itertools.count()


@settings(
    max_examples=int(os.environ.get("LEDGER_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(  # a refund after the points were spent: the claw-back policy decides
    policy="cap_at_zero",
    operations=[("earn", 0, 100, False, 0, None), ("redeem", 0, 100), ("reverse", 1, None), ("replay", 2)],
)
@example(  # pending points released, partly refunded, then expired
    policy="allow_negative",
    operations=[
        ("earn", 0, 80, True, 3, 10),
        ("advance", 5),
        ("release",),
        ("redeem", 0, 50),
        ("reverse", 2, 60),
        ("earn", 0, 30, False, 0, 2),
        ("advance", 20),
        ("expire",),
    ],
)
@given(policy=st.sampled_from(["allow_negative", "cap_at_zero"]), operations=st.lists(operation, max_size=30))
def test_random_operations_keep_every_invariant(app, session, clock, policy, operations):
    program = create_program(
        session,
        slug=f"prop-{next(_programs)}",
        name="Property",
        currency="USD",
        clawback_policy=policy,
        clock=clock,
    )
    members = [enrol(session, program, external_id=f"m{i}", clock=clock)[0] for i in range(MEMBERS)]
    session.commit()
    ledger = Ledger(session, clock)
    posted: list[int] = []  # entry ids, for reversals
    replayable: list = []  # successful single-entry calls, to repeat with their keys

    for step, op in enumerate(operations):
        key = f"{program.slug}:{step}"
        call = _call_for(op, ledger, members, posted, replayable, clock, key)
        if call is None:
            continue
        before = snapshot(session)
        try:
            result = call()
        except (errors.InsufficientPoints, errors.ReversalExceeded, errors.NotReversible) as refused:
            assert snapshot(session) == before, f"{op} was refused ({refused}) but changed the ledger"
            continue
        if op[0] == "replay":
            assert result.replayed, f"{op} posted again instead of replaying"
            assert snapshot(session) == before, f"replaying {op} changed the ledger"
        elif op[0] in ("earn", "redeem", "adjust", "reverse"):
            posted.append(result.entry_id)
            replayable.append(call)
        session.commit()
        violations = verify(session, program.slug)
        assert not violations, f"after {op}: " + "; ".join(map(str, violations))

    for member in members:
        balances = ledger.balances(member.id)
        assert balances["pending"] >= 0
        if policy == "cap_at_zero":
            assert balances["available"] >= 0


def _call_for(op, ledger, members, posted, replayable, clock, key):
    """A zero-argument callable performing ``op``, or None when it does not apply."""
    kind = op[0]
    now = clock.now()
    if kind == "earn":
        _, m, amount, pending, release_days, expire_days = op
        return lambda: ledger.earn(
            members[m],
            amount,
            key=key,
            pending=pending,
            release_at=now + release_days * DAY if pending else None,
            expires_at=now + expire_days * DAY if expire_days else None,
        )
    if kind == "redeem":
        _, m, percent = op
        amount = max(1, ledger.balances(members[m].id)["available"] * percent // 100)
        return lambda: ledger.redeem(members[m], amount, key=key)
    if kind == "adjust":
        _, m, amount = op
        return lambda: ledger.adjust(members[m], amount, key=key, reason="property test", actor="hypothesis")
    if kind == "reverse":
        _, index, amount = op
        if not posted:
            return None
        entry_id = posted[-1 - index % len(posted)]
        return lambda: ledger.reverse(entry_id, amount, key=key)
    if kind == "replay":
        # Repeat an earlier successful step under its original key.
        if not replayable:
            return None
        return replayable[op[1] % len(replayable)]
    if kind == "advance":
        return lambda: clock.advance(op[1] * DAY)
    if kind == "release":
        return lambda: ledger.release_due(members[0].program_id)
    if kind == "expire":
        return lambda: ledger.expire_due(members[0].program_id)
    raise AssertionError(op)
