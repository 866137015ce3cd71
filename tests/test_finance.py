"""The rollforward and breakage: exact from the ledger, at any period."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from loyalty.ledger import Ledger
from loyalty.models import Account
from loyalty.reporting.finance import breakage, rollforward
from tests.helpers import START


def members_total(session, program) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Account.balance), 0)).where(
                Account.program_id == program.id, Account.member_id.is_not(None)
            )
        )
    )


def test_a_rollforward_adds_up_to_the_balances(session, program, member, clock):
    ledger = Ledger(session, clock)
    first = ledger.earn(member, 500, key="e1", expires_at=START + timedelta(days=20))
    clock.advance(timedelta(days=2))
    ledger.earn(member, 300, key="e2", pending=True, release_at=START + timedelta(days=5))
    ledger.redeem(member, 200, key="r1")
    ledger.adjust(member, -50, key="a1", reason="typo", actor="test")
    ledger.reverse(first.entry_id, 100, key="refund-1", reason="refund", actor="test")
    session.commit()
    middle = clock.now()
    clock.advance(timedelta(days=30))
    ledger.release_due(program.id)
    ledger.expire_due(program.id)
    session.commit()

    whole = rollforward(session, program, START - timedelta(days=1), clock.now())
    assert whole.opening == 0
    assert whole.lines == {
        "issued": 800,
        "reversed_by_refunds": -100,
        "redeemed": -200,
        "expired": -150,
        "adjusted": -50,
    }
    assert whole.closing == members_total(session, program) == 300  # what is left: the released 300

    before, after = (
        rollforward(session, program, START - timedelta(days=1), middle),
        rollforward(session, program, middle, clock.now()),
    )
    assert before.closing == after.opening and after.closing == whole.closing  # periods chain
    assert after.lines["expired"] == -150 and after.lines["issued"] == 0


def test_breakage_by_the_month_points_became_spendable(session, program, member, clock):
    ledger = Ledger(session, clock)
    ledger.earn(member, 400, key="jan", expires_at=START + timedelta(days=40))
    clock.set(START + timedelta(days=35))  # February
    ledger.earn(member, 100, key="feb")
    ledger.redeem(member, 150, key="spend")  # takes January's first (soonest to expire)
    clock.set(START + timedelta(days=45))
    ledger.expire_due(program.id)
    session.commit()
    assert breakage(session, program) == [("2026-01", 400, 250), ("2026-02", 100, 0)]


def test_the_finance_page_and_its_csv(app, session, program, member, clock):
    from loyalty.access.admin_users import create_admin
    from tests.helpers.admin import signed_in

    Ledger(session, clock).earn(member, 250, key="e1")
    create_admin(session, email="fin@example.com", password="correct-horse-battery", role="viewer", clock=clock)
    session.commit()
    person = signed_in(app, "fin@example.com")
    page = person.get("/admin/acme/finance?from=2025-12-01&to=2026-01-31").get_data(as_text=True)
    assert "Opening balance (2025-12-01)" in page and "+250" in page
    assert "Closing balance (2026-01-01)" in page  # a period asked to end after today ends today
    answer = person.get("/admin/acme/finance?from=2025-12-01&to=2026-01-31&format=csv")
    assert answer.mimetype == "text/csv" and "attachment" in answer.headers["Content-Disposition"]
    assert answer.get_data(as_text=True).splitlines() == [
        "line,points",
        "opening_balance,0",
        "issued,250",
        "reversed_by_refunds,0",
        "redeemed,0",
        "expired,0",
        "adjusted,0",
        "closing_balance,250",
    ]
    cohorts = person.get("/admin/acme/finance?format=csv&table=breakage").get_data(as_text=True).splitlines()
    assert cohorts == ["month,points_earned,points_expired_unspent,breakage", "2026-01,250,0,0.0000"]
    refused = person.get("/admin/acme/finance?from=nonsense&to=2026-01-31")
    assert refused.status_code == 200 and "Give both dates of the period as YYYY-MM-DD." in refused.get_data(
        as_text=True
    )
    swapped = person.get("/admin/acme/finance?from=2026-01-31&to=2025-12-01").get_data(as_text=True)
    assert "The period&#39;s first day is after its last." in swapped and 'value="2026-01-31"' not in swapped
