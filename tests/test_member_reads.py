"""Reading a member (the store API's ``GET /members/<id>``, the widget's ``GET /me``) costs a fixed few statements.

What the answers hold is pinned by the API's own tests; these pin what a
read costs, without timing it: how many statements one read sends, that
the number does not grow with the member's history (no query per entry,
lot or tier), and that the statements run are the ones built once at
import, not rebuilt on every call. The figures at a million members are
in docs/benchmarks.md (``bench/member_reads.py``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from loyalty.access.api_keys import KEY_BY_PREFIX, create_key
from loyalty.access.rate_limits import ASYNC_COMMIT
from loyalty.api.member.context import PROGRAM_BY_SLUG
from loyalty.ledger import Ledger
from loyalty.ledger.statements import MEMBER_ACCOUNTS, MEMBER_EARNED, MEMBER_EARNED_SINCE
from loyalty.programs.expiry import SOONEST_EXPIRY
from loyalty.programs.members import MEMBER_BY_EXTERNAL_ID, enrol
from loyalty.programs.program import update_program
from loyalty.referrals import set_terms
from loyalty.tiers.levels import PROGRAM_TIERS, add_tier, list_tiers, set_member_tier, set_scheme
from loyalty.tiers.progress import progress
from loyalty.tiers.schemes import TierScheme, scheme_of
from tests.helpers import statements_issued
from tests.helpers.member_api import MEMBER, bearer, enable_widget, jwt_for

API = "/api/v1"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(session, program, registry, clock):
    """A program as a store sets one up: expiry, three tiers on points earned, a referral link, the widget, a key."""
    update_program(session, program, expiry_policy="after_days", expiry_after=365)
    for rank, (name, threshold) in enumerate([("Bronze", 0), ("Silver", 500), ("Gold", 1500)], start=1):
        add_tier(session, program, name=name, rank=rank, threshold=threshold, clock=clock)
    set_scheme(session, program, registry, "points_earned", {})
    set_terms(program, registry, referrer_points=500, friend_points=250, link="https://shop.example/?ref={code}")
    secret = enable_widget(session, program, clock)
    key = create_key(session, program, name="storefront", clock=clock).secret
    session.commit()
    return {"api": bearer(key), "secret": secret}


def make_member(session, program, clock, external_id: str, earnings: int, registry=None):
    """A member with ``earnings`` orders' points, a refund of the first, a spending, and a manual tier."""
    member, _ = enrol(session, program, external_id=external_id, clock=clock)
    ledger = Ledger(session, clock)
    receipts = [ledger.earn(member, 100 + n, key=f"{external_id}:earn:{n}") for n in range(earnings)]
    if earnings > 1:
        ledger.reverse(receipts[0].entry_id, 40, key=f"{external_id}:refund")
        ledger.redeem(member, 50, key=f"{external_id}:spend")
    ledger.earn(member, 30, key=f"{external_id}:pending", pending=True, release_at=clock.now() + timedelta(days=14))
    if registry is not None:
        silver = next(tier for tier in list_tiers(session, program) if tier.name == "Silver")
        set_member_tier(session, member, silver, registry=registry, clock=clock)
    session.commit()
    return member


def queries(issued: list[str]) -> list[str]:
    """The statements sent, without SQLite's ``BEGIN IMMEDIATE`` (PostgreSQL's drivers begin implicitly)."""
    return [statement for statement in issued if not statement.startswith("BEGIN")]


def executed(app):
    """The Core/ORM statement objects executed in the block, in order: ``with executed(app) as ran:``."""
    from contextlib import contextmanager

    @contextmanager
    def block():
        ran: list = []
        from loyalty.db import db

        with app.app_context():
            engine = db.engine

        def listener(conn, clauseelement, multiparams, params, execution_options):
            ran.append(clauseelement)

        event.listen(engine, "before_execute", listener)
        try:
            yield ran
        finally:
            event.remove(engine, "before_execute", listener)

    return block()


def read_member(client, store, external_id):
    answer = client.get(f"{API}/members/{external_id}", headers=store["api"])
    assert answer.status_code == 200, answer.json
    return answer.json


def read_me(client, store, clock, external_id):
    answer = client.get(f"{MEMBER}/acme/me", headers=bearer(jwt_for(store["secret"], external_id, clock)))
    assert answer.status_code == 200, answer.json
    return answer.json


class TestStatementsPerRead:
    def test_the_store_api_reads_a_member_in_a_fixed_few_statements(
        self, client, session, program, registry, clock, store
    ):
        make_member(session, program, clock, "quiet", earnings=1, registry=registry)
        make_member(session, program, clock, "busy", earnings=30, registry=registry)
        read_member(client, store, "quiet")  # the key's last-used time is written on the first read only
        counts = {}
        for external_id in ("quiet", "busy"):
            session.expunge_all()  # as in a request of its own: nothing of the test's in the session
            with statements_issued(session) as issued:
                read_member(client, store, external_id)
            counts[external_id] = len(queries(issued))
        # The key with its program, the member, the tiers, the tier value, the accounts, lifetime earned.
        assert counts == {"quiet": 6, "busy": 6}

    def test_me_reads_a_member_in_a_fixed_few_statements(
        self, client, session, program, registry, clock, store, is_postgres
    ):
        make_member(session, program, clock, "quiet", earnings=1, registry=registry)
        make_member(session, program, clock, "busy", earnings=30, registry=registry)
        counts = {}
        for external_id in ("quiet", "busy"):
            read_me(client, store, clock, external_id)  # the member's rate-limit window is opened on the first
            session.expunge_all()
            with statements_issued(session) as issued:
                read_me(client, store, clock, external_id)
            counts[external_id] = len(queries(issued))
        # The program, its widget, the rate limit's hit and sweep, the member, the tiers, the tier value,
        # the accounts, lifetime earned, the next expiry (the program and widget are not read again after the
        # commit before the count, nor for the CORS headers after the view's); on PostgreSQL, the hit's
        # asynchronous commit.
        expected = 11 if is_postgres else 10
        assert counts == {"quiet": expected, "busy": expected}

    def test_the_rate_limit_hit_does_not_wait_for_the_wal_flush(
        self, client, session, program, registry, clock, store, is_postgres
    ):
        if not is_postgres:
            pytest.skip("synchronous_commit: PostgreSQL")
        make_member(session, program, clock, "quiet", earnings=1, registry=registry)
        with statements_issued(session) as issued:
            read_me(client, store, clock, "quiet")
        hit = next(n for n, statement in enumerate(issued) if statement.startswith("INSERT INTO rate_limits"))
        assert issued[hit - 1] == ASYNC_COMMIT

    def test_the_reads_run_the_statements_built_at_import(self, app, client, session, program, registry, clock, store):
        make_member(session, program, clock, "busy", earnings=5, registry=registry)
        read_member(client, store, "busy")
        with executed(app) as ran:
            read_member(client, store, "busy")
            read_me(client, store, clock, "busy")
        ran_ids = {id(statement) for statement in ran}
        for prebuilt in (
            KEY_BY_PREFIX,
            MEMBER_BY_EXTERNAL_ID,
            PROGRAM_TIERS,
            MEMBER_EARNED_SINCE,
            MEMBER_ACCOUNTS,
            MEMBER_EARNED,
            PROGRAM_BY_SLUG,
            SOONEST_EXPIRY,
        ):
            assert id(prebuilt) in ran_ids, prebuilt

    def test_a_second_read_builds_no_new_select(self, app, client, session, program, registry, clock, store):
        """Every SELECT of the second read is an object the first read ran too (``session.get`` aside).

        A statement built inside a call is a new object each time; one built
        once at import is the same object on every read.
        """
        make_member(session, program, clock, "a", earnings=3, registry=registry)
        make_member(session, program, clock, "b", earnings=3, registry=registry)
        read_member(client, store, "a")
        runs = []
        for external_id in ("a", "b"):
            with executed(app) as ran:
                read_member(client, store, external_id)
                read_me(client, store, clock, external_id)
            runs.append(ran)
        first = {id(statement) for statement in runs[0]}
        rebuilt = [
            str(statement)
            for statement in runs[1]
            if id(statement) not in first and getattr(statement, "is_select", False) and not _is_get(statement)
        ]
        assert rebuilt == []


def _is_get(statement) -> bool:
    """``session.get``'s SELECT by primary key (the program, its widget, the tier), which the ORM builds itself."""
    return ":pk_1" in str(statement)


class TestTierValue:
    @pytest.mark.parametrize(
        ("scheme", "settings"),
        [
            ("points_earned", {}),
            ("points_earned", {"window": "calendar_year"}),
            ("points_earned", {"window_days": 30}),
            ("lifetime_points", {}),
            ("amount_spent", {}),
        ],
    )
    def test_member_value_is_the_value_qualifying_values_gives(
        self, session, program, registry, clock, scheme, settings
    ):
        """A scheme's prebuilt one-member statement answers what its program-wide query says of that member."""
        add_tier(session, program, name="Bronze", rank=1, threshold=0, clock=clock)
        set_scheme(session, program, registry, scheme, settings)
        members = [make_member(session, program, clock, f"m-{n}", earnings=n) for n in (1, 2, 6)]
        clock.advance(timedelta(days=60))  # the 30-day window now leaves the earnings out, the others keep them
        make_member(session, program, clock, "recent", earnings=4)
        implementation = scheme_of(registry, program.tier_scheme)
        now = clock.now()
        everyone = dict(session.execute(implementation.qualifying_values(program, program.tier_settings, now)).all())
        for member in [
            *members,
            *session.scalars(MEMBER_BY_EXTERNAL_ID, {"program_id": program.id, "external_id": "recent"}),
        ]:
            statement, parameters = implementation.member_value(program, program.tier_settings, now, member.id)
            assert Decimal(session.scalar(statement, parameters) or 0) == Decimal(everyone.get(member.id) or 0)

    def test_a_scheme_without_its_own_member_value_still_answers(self, session, program, registry, clock, monkeypatch):
        """The default ``member_value`` narrows ``qualifying_values``: a third-party scheme needs nothing new."""
        add_tier(session, program, name="Bronze", rank=1, threshold=0, clock=clock)
        set_scheme(session, program, registry, "points_earned", {})
        member = make_member(session, program, clock, "m", earnings=3)
        implementation = scheme_of(registry, "points_earned")
        fast = progress(session, program, member, registry=registry, clock=clock)
        monkeypatch.setattr(type(implementation), "member_value", TierScheme.member_value)
        assert progress(session, program, member, registry=registry, clock=clock) == fast
