"""``loyalty email enable|disable|status``: e-mail switched on from the terminal, as stores without the admin do."""

from __future__ import annotations

from sqlalchemy import select

from loyalty.models import Destination
from tests.helpers.cli import fails, ok


def destination(session):
    session.expire_all()
    return session.scalar(select(Destination).where(Destination.channel == "email"))


def test_enable_makes_the_programs_email_destination_and_status_shows_it(app, runner, session, program):
    app.config.update(SMTP_URL="smtp://robot:hunter2@mail.example:587", PUBLIC_URL="https://loyalty.example")
    out = ok(runner, "email", "enable", "--program", "acme", "--from", "rewards@acme.example", "--name", "Acme")
    assert "is on, from rewards@acme.example" in out and "Note" not in out
    row = destination(session)
    assert row.config == {"from_address": "rewards@acme.example", "from_name": "Acme"}
    assert row.events == [
        "member.enrolled",
        "points.earned",
        "points.expiring",
        "tier.changed",
        "reward.redeemed",
        "referral.completed",
    ]
    status = ok(runner, "email", "status", "--program", "acme")
    assert "smtp:     Sending through mail.example:587 (STARTTLS) as robot" in status
    assert "on, from rewards@acme.example" in status and "none yet" in status
    assert "hunter2" not in status
    ok(runner, "email", "enable", "--program", "acme", "--from", "club@acme.example")
    assert destination(session).config == {"from_address": "club@acme.example"}  # the same one, updated
    assert len(session.scalars(select(Destination)).all()) == 1


def test_disable_and_status_without_smtp_say_what_happens(app, runner, session, program):
    app.config.update(SMTP_URL=None, PUBLIC_URL=None)
    out = ok(runner, "email", "enable", "--program", "acme", "--from", "rewards@acme.example")
    assert "LOYALTY_PUBLIC_URL is not set" in out and "SMTP is not configured" in out
    assert "is off" in ok(runner, "email", "disable", "--program", "acme")
    assert destination(session).status == "disabled"
    assert "was not on" in ok(runner, "email", "disable", "--program", "acme")
    status = ok(runner, "email", "status", "--program", "acme")
    assert "SMTP is not configured" in status and "off, from rewards@acme.example" in status


def test_a_wrong_address_or_program_is_refused_and_changes_nothing(runner, session, program):
    assert "from_address: Not a valid email address." in fails(
        runner, "email", "enable", "--program", "acme", "--from", "not an address"
    )
    assert "reply_to" in fails(
        runner, "email", "enable", "--program", "acme", "--from", "a@acme.example", "--reply-to", "x"
    )
    assert "unknown_program" in fails(runner, "email", "enable", "--program", "nope", "--from", "a@acme.example")
    assert destination(session) is None
    assert "never switched on" in ok(runner, "email", "status", "--program", "acme")
