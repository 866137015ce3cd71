"""The admin's Outbound page with Flask's test client: who may do what, the secret shown once, replays, test events."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from loyalty.messages import addresses, destinations, outbox, sending
from loyalty.models import AuditEntry, Delivery, Destination, Member
from tests.helpers import channels
from tests.helpers.admin import Browser, browser, shop, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.plugins(channels.Plugin())

PAGE = "/admin/acme/outbound"
ADD = "/admin/acme/outbound/add"


class Person(Browser):
    """A :class:`Browser` that takes the CSRF token from the Outbound page (most of its actions are POST only)."""

    def token(self, path) -> str:
        return super().token(PAGE if path.startswith(PAGE) else path)


def signed_in(app, email) -> Person:
    person = Person(app)
    assert person.sign_in(email).status_code == 302
    return person


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    channels.reset()
    monkeypatch.setattr(
        addresses, "resolve", lambda host, port: [host] if host[:1].isdigit() or ":" in host else ["93.184.215.14"]
    )
    yield
    channels.reset()


@pytest.fixture
def owner(app, users):
    return signed_in(app, "owner@example.com")


@pytest.fixture
def manager(app, users):
    return signed_in(app, "manager@example.com")


@pytest.fixture
def viewer(app, users):
    return signed_in(app, "viewer@example.com")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def added(owner, url="https://hooks.example/loyalty", **form) -> tuple[str, str]:
    """Add an endpoint as the owner; the answer's page and the secret it shows."""
    response = owner.post(ADD, {"url": url, "events": ["points.earned", "tier.changed"], **form})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return page, re.search(r'id="new-secret-value">(whsec_[^<]+)<', page).group(1)


def test_the_owner_adds_an_endpoint_and_sees_its_secret_once(owner, session):
    page, secret = added(owner, name="CRM")
    stored = session.scalar(select(Destination))
    assert stored.config["secret"] == secret and stored.events == ["points.earned", "tier.changed"]
    assert stored.name == "CRM"
    again = owner.get(PAGE).get_data(as_text=True)
    assert secret not in again and html.escape(f"whsec_…{secret[-4:]}") in html.escape(html.unescape(again))
    assert "CRM" in again and "https://hooks.example/loyalty" in again
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "outbound.add"))
    assert secret not in str(entry.after) and entry.after["secret"] == f"whsec_…{secret[-4:]}"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("http://127.0.0.1/", "a loopback address"),
        ("http://169.254.169.254/", "a link-local address"),
        ("http://[::ffff:10.0.0.1]/", "inside an IPv6 address"),
        ("https://hooks.example/" + "a" * 2100, "at most 2000"),
    ],
)
def test_a_hostile_url_is_refused_with_the_reason_and_nothing_added(owner, session, url, words):
    response = owner.post(ADD, {"url": url, "events": ["all"]})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and "Not added" in page and words in page
    assert count(session, Destination) == 0


def test_no_events_chosen_is_refused(owner, session):
    page = html.unescape(owner.post(ADD, {"url": "https://hooks.example/"}).get_data(as_text=True))
    assert "name at least one event type" in page and count(session, Destination) == 0


def test_a_nul_in_the_form_is_refused_before_the_view(owner, session):
    assert owner.post(ADD, {"url": "https://hooks.example/\x00", "events": ["all"]}).status_code == 400
    assert count(session, Destination) == 0


def test_managers_and_viewers_may_not_manage_endpoints(owner, manager, viewer, session):
    added(owner)
    endpoint = session.scalar(select(Destination)).id
    for person in (manager, viewer):
        assert person.get(PAGE).status_code == 200
        assert person.post(ADD, {"url": "https://b.example/", "events": ["all"]}).status_code == 403
        for action in ("disable", "enable", "rotate", "remove"):
            assert person.post(f"{PAGE}/{endpoint}/{action}", {"replaces": "x"}).status_code == 403
    assert viewer.post(f"{PAGE}/{endpoint}/test", {"event_type": "points.earned"}).status_code == 403
    assert "Add the endpoint" not in manager.get(PAGE).get_data(as_text=True)
    assert "Send a test event" in manager.get(PAGE).get_data(as_text=True)
    assert "Send a test event" not in viewer.get(PAGE).get_data(as_text=True)
    assert count(session, Destination) == 1


def test_a_program_the_account_may_not_see_is_not_found(app, users):
    limited = signed_in(app, "limited@example.com")
    assert limited.get(PAGE).status_code == 404


def test_rotate_confirms_and_a_reload_rotates_nothing(owner, session):
    _, secret = added(owner)
    endpoint = session.scalar(select(Destination))
    confirm = owner.get(f"{PAGE}/{endpoint.id}/rotate").get_data(as_text=True)
    masked = f"whsec_…{secret[-4:]}"
    assert masked in html.unescape(confirm) and "at once" in confirm
    response = owner.post(f"{PAGE}/{endpoint.id}/rotate", {"replaces": masked})
    fresh = re.search(r'id="new-secret-value">(whsec_[^<]+)<', response.get_data(as_text=True)).group(1)
    session.expire_all()
    assert fresh != secret and session.get(Destination, endpoint.id).config["secret"] == fresh
    assert response.headers["Cache-Control"] == "no-store"
    replayed = owner.post(f"{PAGE}/{endpoint.id}/rotate", {"replaces": masked})  # the same form sent again
    assert replayed.status_code == 302
    session.expire_all()
    assert session.get(Destination, endpoint.id).config["secret"] == fresh


def test_disabled_by_the_platform_is_said_with_the_reason_and_enable(app, owner, session, clock, registry, shop):
    destination = destinations.add(
        session, shop, channel="recorder", config={}, events="all", clock=clock, registry=registry, settings=app.config
    )
    channels.RECORDER.script = [sending.Outcome.retry("HTTP 503", 503)] * 50
    member = session.scalar(select(Member))
    for _ in range(7):
        outbox.record(session, shop.id, "points.earned", at=clock.now(), member_id=member.id, data={"points": 1})
        session.commit()
        sending.send_due(session, registry=registry, settings=app.config, clock=clock)
        clock.advance(sending.DISABLE_AFTER / 4)
    session.refresh(destination)
    assert destination.status == "disabled"
    page = html.unescape(owner.get(PAGE).get_data(as_text=True))
    assert "is disabled by the platform: Disabled by the platform on" in " ".join(page.split())
    assert "every delivery failed since" in page and "(last: HTTP 503)" in page
    assert owner.post(f"{PAGE}/{destination.id}/enable").status_code == 302
    session.expire_all()
    assert session.get(Destination, destination.id).status == "active"
    assert "disabled by the platform" not in owner.get(PAGE).get_data(as_text=True)


def test_a_manager_replays_and_sends_a_test_event(app, owner, manager, session, clock, registry, shop):
    destination = destinations.add(
        session, shop, channel="recorder", config={}, events="all", clock=clock, registry=registry, settings=app.config
    )
    session.commit()
    assert manager.post(f"{PAGE}/{destination.id}/test", {"event_type": "tier.changed"}).status_code == 302
    sending.send_due(session, registry=registry, settings=app.config, clock=clock)
    page = owner.get(PAGE).get_data(as_text=True)
    assert "tier.changed" in page and "test</span>" in page and "delivered" in page
    test_delivery = session.scalar(select(Delivery).where(Delivery.event_type == "tier.changed"))
    assert manager.post(f"{PAGE}/deliveries/{test_delivery.id}/replay").status_code == 302
    session.expire_all()
    replayed = session.get(Delivery, test_delivery.id)
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    again = html.unescape(
        manager.post(f"{PAGE}/deliveries/{test_delivery.id}/replay", follow_redirects=True).get_data(as_text=True)
    )
    assert "Not replayed" in again and "pending already" in again
    assert manager.post(f"{PAGE}/deliveries/999999/replay").status_code == 404
    bad = html.unescape(
        manager.post(f"{PAGE}/{destination.id}/test", {"event_type": "nope"}, follow_redirects=True).get_data(
            as_text=True
        )
    )
    assert "unknown event type 'nope'" in bad


def test_remove_confirms_and_takes_the_history(app, owner, session, clock, registry, shop):
    destination = destinations.add(
        session, shop, channel="recorder", config={}, events="all", clock=clock, registry=registry, settings=app.config
    )
    destinations.send_test(session, destination, "points.earned", clock=clock)
    session.commit()
    remove = f"{PAGE}/{destination.id}/remove"
    confirm = owner.get(remove).get_data(as_text=True)
    assert "with its 1 deliveries" in confirm
    assert owner.post(remove).status_code == 302
    assert count(session, Destination) == 0 and count(session, Delivery) == 0
    assert owner.get(remove).status_code == 404


def test_filters_and_hostile_query_strings_never_fail(owner, session):
    added(owner, name="<script>alert(1)</script>")
    for query in ("?status=failed", "?status=nope", "?endpoint=1", "?endpoint=abc", "?endpoint=99999999999999999999"):
        response = owner.get(PAGE + query)
        assert response.status_code in (200, 400), query
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
