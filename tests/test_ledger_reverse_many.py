"""``Ledger.reverse_many`` leaves the ledger as ``Ledger.reverse`` of each reversal in turn does.

Two identical programs hold the same members and entries: credits pending
and available, one released, some spent, a member in debt, a redemption (a debit, which
reverse_many hands to ``reverse``). The same random rounds of reversals
(partial, whole, several of one entry, more than is left, keys repeated
from an earlier round: replays and conflicts) go to both: one program
reverses them one at a time, the other in one call. Receipts, balances,
entries, lots, consumptions and outbox events must come out the same; a
round that one refuses the other refuses too. ``loyalty verify`` runs after
every test (conftest).
"""

from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from loyalty import errors
from loyalty.ledger import Ledger, NewReversal
from loyalty.programs.members import enrol
from loyalty.programs.program import create_program
from tests.helpers import START, statements_issued
from tests.test_worker_batches import state

ENTRIES = 8

reversal = st.tuples(
    st.integers(0, ENTRIES - 1),
    st.one_of(st.none(), st.integers(1, 25)),  # None: what is left
    st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"]),
)
_runs = itertools.count()


def setup(session, clock, slug: str, policy: str):
    """Members' entries: ``(program, ledger, entry ids)`` in the same order in every program."""
    program = create_program(session, slug=slug, name=slug, currency="USD", clawback_policy=policy, clock=clock)
    ledger = Ledger(session, clock)
    ann, bob, cy = (enrol(session, program, external_id=name, clock=clock)[0] for name in ("ann", "bob", "cy"))
    later = START.replace(year=START.year + 1)
    ids = [
        ledger.earn(ann, 50, key="e0", pending=True, release_at=later).entry_id,
        ledger.earn(ann, 30, key="e1", expires_at=later).entry_id,
        ledger.earn(ann, 20, key="e2").entry_id,
        ledger.earn(bob, 40, key="e3").entry_id,
        ledger.earn(bob, 25, key="e4", pending=True, release_at=later).entry_id,
        ledger.earn(cy, 60, key="e5").entry_id,
        ledger.earn(cy, 15, key="e6", pending=True, release_at=clock.now()).entry_id,  # released below
    ]
    assert len(ledger.release_due(program.id)) == 1  # its reversal takes from available, not its pending lot
    ledger.redeem(bob, 35, key="spend-bob")  # bob's available points are partly spent
    ids.append(ledger.redeem(cy, 45, key="spend-cy").entry_id)  # a debit: reverse_many hands it to reverse
    session.commit()
    return program, ledger, ids


def receipts_told(receipts):
    return [(r.kind, r.amount, r.shortfall, r.moved, r.replayed) for r in receipts]


@settings(
    max_examples=int(os.environ.get("BATCH_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    policy=st.sampled_from(["allow_negative", "cap_at_zero"]),
    rounds=st.lists(st.lists(reversal, min_size=1, max_size=8), min_size=1, max_size=4),
)
def test_reverse_many_matches_reverse_one_at_a_time(session, clock, policy, rounds):
    run = next(_runs)
    one, one_ledger, one_ids = setup(session, clock, f"one-{run}", policy)
    many, many_ledger, many_ids = setup(session, clock, f"many-{run}", policy)
    for steps in rounds:
        steps = list({key: (entry, amount, key) for entry, amount, key in steps}.values())  # a key once per call
        expected, refused = [], False
        try:
            for entry, amount, key in steps:
                expected.append(
                    one_ledger.reverse(one_ids[entry], amount, key=f"{key}:{entry}", reason=f"r{entry}", actor="t")
                )
        except errors.LoyaltyError:
            refused = True
        event("a round refused" if refused else "a round posted")
        try:
            got = many_ledger.reverse_many(
                [
                    NewReversal(many_ids[entry], amount, f"{key}:{entry}", f"r{entry}", "t")
                    for entry, amount, key in steps
                ]
            )
        except errors.LoyaltyError:
            assert refused, "reverse_many refused what reverse took"
            session.rollback()
            continue
        assert not refused, "reverse_many took what reverse refused"
        assert receipts_told(got) == receipts_told(expected)
        session.commit()
    session.expire_all()
    want, have = state(session, one), state(session, many)
    for part in want:
        assert have[part] == want[part], part


def test_reverse_many_takes_a_fixed_number_of_statements(session, clock):
    """2 or 20 members' claw-backs (from pending, from available, with a shortfall): the same statements."""
    program = create_program(
        session, slug="counted", name="counted", currency="USD", clawback_policy="cap_at_zero", clock=clock
    )
    ledger = Ledger(session, clock)
    later = START.replace(year=START.year + 1)
    credits = []
    for n in range(22):
        member = enrol(session, program, external_id=f"m{n}", clock=clock)[0]
        pending = ledger.earn(member, 30, key=f"p{n}", pending=True, release_at=later).entry_id
        available = ledger.earn(member, 30, key=f"a{n}").entry_id
        ledger.redeem(member, 20, key=f"spend{n}")
        credits.append([(pending, 30 if n % 2 else 10), (available, 30 if n % 2 else 5)])  # 30 of 10 left: a shortfall
    session.commit()

    def counted(members):
        asked = [NewReversal(entry, amount, f"r{entry}") for pair in members for entry, amount in pair]
        with statements_issued(session) as statements:
            receipts = ledger.reverse_many(asked)
        session.commit()
        assert len(receipts) == len(asked) and not any(r.replayed for r in receipts)
        return len(statements)

    assert counted(credits[2:]) == counted(credits[:2])
