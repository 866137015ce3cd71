"""E-mail to members end to end: events from the outbox, sent by the sender to a real SMTP server (aiosmtpd).

Each test switches e-mail on for the program (as ``loyalty email enable``
does), records events as the change sites do, runs the sender
(``send_due``, what the worker and the job call) and reads what arrived.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from loyalty.messages import mailing, outbox, sending, unsubscribe
from loyalty.models import Delivery
from loyalty.plugins.channels.email import EMAIL, smtp, tier_went_up
from tests.helpers.smtp import smtp_server  # noqa: F401 (fixture)

PUBLIC = "https://loyalty.example"


@pytest.fixture
def mail(app, session, registry, clock, program, smtp_server):
    """E-mail on for ``acme`` from rewards@acme.example, SMTP_URL the test server, and a send function."""
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    mailing.enable(
        session, program, registry=registry, clock=clock, from_address="rewards@acme.example", from_name="Acme Rewards"
    )
    session.commit()
    return smtp_server


@pytest.fixture
def ann(loyalty_enrol, app, session, registry, clock):
    member = loyalty_enrol("c-ann", email="ann@example.com", name="Ann Archer")
    send(app, session, registry, clock)  # whatever enrolling recorded goes first: each test counts its own e-mails
    return member


def send(app, session, registry, clock):
    counts = sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    session.commit()
    return counts


def record(session, program, member, type, **data):
    outbox.record(session, program.id, type, at=member.enrolled_at, member_id=member.id, data=data)
    session.commit()


def deliveries(session, type):
    session.expire_all()
    return list(session.scalars(select(Delivery).where(Delivery.event_type == type).order_by(Delivery.id)))


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_a_reward_email_arrives_with_sender_recipient_subject_both_parts_and_the_unsubscribe_headers(
    app, session, registry, clock, program, mail, ann
):
    mail.received.clear()
    record(session, program, ann, "reward.redeemed", reward={"name": "USD 5 off"}, code="LOYAL-ABCD-1234", points=500)
    assert send(app, session, registry, clock)["delivered"] == 1
    [(envelope_from, envelope_to, message)] = mail.received
    assert envelope_from == "rewards@acme.example" and envelope_to == ["ann@example.com"]
    assert parseaddr(message["From"]) == ("Acme Rewards", "rewards@acme.example")
    assert parseaddr(message["To"]) == ("Ann Archer", "ann@example.com")
    assert message["Subject"] == "Your reward: USD 5 off"
    text, html = parts(message)
    assert "LOYAL-ABCD-1234" in text and "Hello Ann Archer," in text
    assert "LOYAL-ABCD-1234" in html and "<b>USD 5 off</b>" in html
    url = unsubscribe.link(app.config, program, ann)
    assert url.startswith(f"{PUBLIC}/messages/v1/acme/unsubscribe/{ann.id}/")
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in text and url in html
    assert message["Message-ID"].endswith("@acme.example>") and message["Auto-Submitted"] == "auto-generated"
    [delivery] = deliveries(session, "reward.redeemed")
    assert (delivery.status, delivery.response_code) == ("delivered", 250)


def test_a_members_name_and_data_cannot_inject_headers_or_markup(
    app, session, registry, clock, program, mail, loyalty_enrol
):
    evil = loyalty_enrol("c-evil", email="evil@example.com", name="Eve\r\nBcc: all@example.com <b>")
    send(app, session, registry, clock)
    mail.received.clear()
    record(session, program, evil, "reward.redeemed", reward={"name": "<script>x</script>\nBcc: x@y"}, code="C-1")
    send(app, session, registry, clock)
    [(_, envelope_to, message)] = mail.received
    assert envelope_to == ["evil@example.com"] and message["Bcc"] is None
    assert "\n" not in message["Subject"] and "<script>" not in parts(message)[1]
    assert "&lt;script&gt;" in parts(message)[1]


def test_points_earned_is_at_most_one_email_an_hour_with_the_points_summed(
    app, session, registry, clock, program, mail, ann
):
    mail.received.clear()
    record(session, program, ann, "points.earned", points=10, reason="Order #1")
    send(app, session, registry, clock)
    for points in (20, 30):
        clock.advance(timedelta(minutes=15))
        record(session, program, ann, "points.earned", points=points, reason=f"Order #{points}")
        send(app, session, registry, clock)
    assert [m["Subject"] for m in mail.messages] == ["You earned 10 points"]
    clock.advance(timedelta(minutes=31))
    send(app, session, registry, clock)
    assert [m["Subject"] for m in mail.messages] == ["You earned 10 points", "You earned 50 points"]
    text = parts(mail.messages[1])[0]
    assert "20 points: Order #20" in text and "30 points: Order #30" in text


def test_no_email_for_a_member_who_opted_out_nor_one_without_an_address(
    app, session, registry, clock, program, mail, ann, loyalty_enrol
):
    nobody = loyalty_enrol("c-none", name="No Address")
    send(app, session, registry, clock)
    mail.received.clear()
    ann.unsubscribed_at = clock.now()
    session.commit()
    record(session, program, ann, "referral.completed", points=200)
    record(session, program, nobody, "referral.completed", points=200)
    send(app, session, registry, clock)
    assert mail.messages == []
    opted_out, no_address = deliveries(session, "referral.completed")
    assert opted_out.status == "skipped" and "opted out" in opted_out.last_error
    assert no_address.status == "skipped" and no_address.last_error == "the member has no e-mail address"


def test_a_4xx_answer_is_retried_with_the_same_message_id_and_a_5xx_one_fails_with_the_reply(
    app, session, registry, clock, program, mail, ann, loyalty_enrol
):
    mail.received.clear()
    mail.answers.append("451 4.3.0 Try again later")
    record(session, program, ann, "points.expiring", points=80, expires_at="2026-12-31T00:00:00Z")
    send(app, session, registry, clock)
    [delivery] = deliveries(session, "points.expiring")
    assert (delivery.status, delivery.response_code) == ("pending", 451)
    assert "451 4.3.0 Try again later" in delivery.last_error and mail.messages == []
    clock.advance(sending.BACKOFF[0])
    send(app, session, registry, clock)
    [message] = mail.messages
    assert message["Subject"] == "80 points expire on 31 December 2026"
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.status == "delivered" and delivery.attempts == 2

    mail.answers.append("550 5.1.1 No such user")
    record(session, program, ann, "tier.changed", to={"name": "Gold", "rank": 2}, direction="up")
    send(app, session, registry, clock)
    [failed] = deliveries(session, "tier.changed")
    assert (failed.status, failed.response_code, failed.attempts) == ("failed", 550, 1)
    assert "550 5.1.1 No such user" in failed.last_error


def test_the_message_id_is_the_same_on_every_attempt(app, session, registry, clock, program, mail, ann):
    mail.answers.extend(["421 4.7.0 Busy", "421 4.7.0 Busy"])
    mail.received.clear()
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    for _ in range(3):
        send(app, session, registry, clock)
        clock.advance(timedelta(hours=1))
    [message] = mail.messages
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.attempts == 3
    assert message["Message-ID"].startswith("<evt_") and f".{delivery.id}@" in message["Message-ID"]


def test_a_tier_reached_is_sent_a_tier_left_is_not(app, session, registry, clock, program, mail, ann):
    mail.received.clear()
    record(
        session,
        program,
        ann,
        "tier.changed",
        **{"from": {"name": "Gold", "rank": 2}, "to": {"name": "Silver", "rank": 1}},
    )
    record(
        session,
        program,
        ann,
        "tier.changed",
        **{"from": {"name": "Silver", "rank": 1}, "to": {"name": "Gold", "rank": 2}},
    )
    send(app, session, registry, clock)
    assert [m["Subject"] for m in mail.messages] == ["You reached Gold"]
    assert tier_went_up({"direction": "up"}) and not tier_went_up({"direction": "down", "to": {"rank": 9}})
    assert tier_went_up({"to": {"name": "Bronze", "rank": 0}}) and not tier_went_up({"to": None})


def test_a_referral_reward_goes_to_the_referrer_only():
    assert EMAIL.accepts({"type": "referral.completed", "data": {"points": 5}})
    assert EMAIL.accepts({"type": "referral.completed", "data": {"role": "referrer"}})
    assert not EMAIL.accepts({"type": "referral.completed", "data": {"role": "friend"}})


def test_without_smtp_nothing_is_sent_and_each_delivery_says_why(app, session, registry, clock, program, mail, ann):
    mail.received.clear()
    app.config["SMTP_URL"] = None
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    send(app, session, registry, clock)
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.status == "skipped" and "SMTP is not configured" in delivery.last_error
    assert mail.messages == []


def test_an_unreachable_server_is_retried(app, session, registry, clock, program, mail, ann):
    from tests.helpers.live_server import free_port

    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}?starttls=false"
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    send(app, session, registry, clock)
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.status == "pending" and "could not reach 127.0.0.1" in delivery.last_error


def test_starttls_is_required_unless_the_url_says_otherwise(app, session, registry, clock, program, mail, ann):
    mail.received.clear()
    app.config["SMTP_URL"] = mail.url.replace("?starttls=false", "")
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    send(app, session, registry, clock)
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.status == "pending" and "does not offer STARTTLS" in delivery.last_error
    assert mail.messages == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://user:s3cr%40t@mail.example", "mail.example:587 (STARTTLS) as user"),
        ("smtps://me%40x.example:pw@mail.example", "mail.example:465 (TLS) as me@x.example"),
        ("smtp://127.0.0.1:2525?starttls=false", "127.0.0.1:2525 (no TLS)"),
    ],
)
def test_smtp_urls_are_read_and_shown_without_the_password(url, shown):
    server = smtp.parse(url)
    assert server.shown() == shown and "s3cr" not in server.shown()
    assert EMAIL.status({"SMTP_URL": url}) == f"Sending through {shown}"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://mail.example", "must start with smtp://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example:99999", "is not a URL"),
        ("smtp://mail.example?tls=no", "unknown parameter: tls"),
    ],
)
def test_a_wrong_smtp_url_is_a_reason_not_a_crash(url, reason):
    assert reason in EMAIL.unavailable({"SMTP_URL": url})


def test_the_password_appears_in_no_delivery_error(app, session, registry, clock, program, mail, ann, monkeypatch):
    def refuse(self, user, password, **kw):
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")

    monkeypatch.setattr(smtplib.SMTP, "login", refuse)
    app.config["SMTP_URL"] = mail.url.replace("smtp://", "smtp://robot:hunter2@")
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    send(app, session, registry, clock)
    [delivery] = deliveries(session, "points.expiring")
    assert delivery.status == "pending" and "refused the login: 535" in delivery.last_error  # fixable: retried
    assert "hunter2" not in delivery.last_error


def test_the_one_click_link_of_an_email_stops_the_next_ones(app, session, registry, clock, program, mail, ann):
    mail.received.clear()
    record(session, program, ann, "points.expiring", points=5, expires_at="2026-02-01T00:00:00Z")
    send(app, session, registry, clock)
    [message] = mail.messages
    url = message["List-Unsubscribe"].strip("<>")
    session.commit()
    with app.app_context():  # as a mailbox provider posts it: no cookie, no token but the link's
        answer = app.test_client().post(
            url.removeprefix(PUBLIC),
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    assert answer.status_code == 200
    record(session, program, ann, "reward.redeemed", code="C-2")
    send(app, session, registry, clock)
    assert len(mail.messages) == 1
    [skipped] = deliveries(session, "reward.redeemed")
    assert skipped.status == "skipped" and "opted out" in skipped.last_error


def test_a_long_unsubscribe_url_stays_one_plain_header_on_the_wire():
    """Mailbox providers read List-Unsubscribe as it is: folded into encoded words at 78 characters, it was lost."""
    from datetime import datetime, timezone

    from loyalty.messages.channels import Message
    from loyalty.plugins.channels.email import build

    url = "https://loyalty.example.com/messages/v1/a-long-program-name/unsubscribe/123456789/" + "a" * 32
    message = Message(
        delivery_id=7,
        attempt=1,
        event_uid="evt_0123456789abcdef0123456789",
        event_type="points.earned",
        payload={},
        payloads=({},),
        destination_id=1,
        destination={"from_address": "rewards@acme.example"},
        program={"slug": "acme", "name": "Acme", "currency": "USD"},
        member={"external_id": "c-1", "email": "ann@example.com", "name": "Ann", "unsubscribe_url": url},
        content={"subject": "You earned 5 points", "text": "Hello", "html": None},
        settings={},
        now=datetime(2026, 12, 3, tzinfo=timezone.utc),
    )
    raw = build(message, "ann@example.com").as_bytes()
    assert f"\nList-Unsubscribe: <{url}>\n".encode() in raw
    assert b"=?utf-8?" not in raw


@pytest.mark.parametrize("address", ["rewards@d\u00e9mo.example", "r\u00e9wards@demo.example"])
def test_a_sender_address_outside_ascii_is_refused_when_it_is_given(session, program, registry, clock, address):
    from loyalty import errors

    with pytest.raises(errors.InvalidInput, match="ASCII"):
        mailing.enable(session, program, registry=registry, clock=clock, from_address=address)
    session.rollback()


def test_a_template_that_recurses_is_refused_not_a_crash():
    from loyalty.messages import templates

    with pytest.raises(templates.InvalidTemplate):
        templates.check({"subject": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"}, event_type="points.earned")
