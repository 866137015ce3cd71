"""The one-click unsubscribe link: a GET only asks, a POST (RFC 8058's or the page's button) decides; bad links 404."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.messages import unsubscribe

PUBLIC = "https://loyalty.example"


@pytest.fixture
def ann(app, loyalty_enrol):
    app.config["PUBLIC_URL"] = PUBLIC
    return loyalty_enrol("c-ann", email="ann@example.com", name="Ann")


def path_of(app, program, member) -> str:
    return unsubscribe.link(app.config, program, member).removeprefix(PUBLIC)


def visit(app, method, path, **kw):
    from loyalty.db import db

    db.session.commit()
    with app.app_context():
        return app.test_client().open(path, method=method, **kw)


def opted_out(session, member) -> bool:
    session.expire_all()
    answer = member.unsubscribed_at is not None
    session.rollback()
    return answer


def test_a_get_only_asks_and_a_one_click_post_unsubscribes_without_cookie_or_csrf(app, session, program, ann):
    path = path_of(app, program, ann)
    page = visit(app, "GET", path)
    assert page.status_code == 200 and not opted_out(session, ann)
    assert "Unsubscribe from e-mails?" in page.get_data(as_text=True) and "a•••@example.com" in page.get_data(
        as_text=True
    )
    assert "ann@example.com" not in page.get_data(as_text=True)
    answer = visit(
        app,
        "POST",
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200 and "You are unsubscribed" in answer.get_data(as_text=True)
    assert opted_out(session, ann)
    assert "Set-Cookie" not in answer.headers
    again = visit(app, "POST", path, data={"action": "subscribe"})
    assert again.status_code == 200 and "subscribed again" in again.get_data(as_text=True)
    assert not opted_out(session, ann)


def test_unsubscribing_twice_keeps_the_first_time(app, session, program, ann, clock):
    from datetime import timedelta

    path = path_of(app, program, ann)
    visit(app, "POST", path, data={"action": "unsubscribe"})
    session.expire_all()
    first = ann.unsubscribed_at
    clock.advance(timedelta(days=1))
    visit(app, "POST", path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    session.expire_all()
    assert ann.unsubscribed_at == first


def test_another_members_token_another_program_or_a_changed_token_is_a_404(app, session, program, ann, loyalty_enrol):
    from loyalty.programs.program import create_program

    bob = loyalty_enrol("c-bob", email="bob@example.com")
    other = create_program(session, slug="other", name="Other", currency="EUR", clock=app.config["CLOCK"])
    session.commit()
    mine = path_of(app, program, ann)
    token = mine.rsplit("/", 1)[1]
    for path in (
        f"/messages/v1/acme/unsubscribe/{bob.id}/{token}",
        f"/messages/v1/other/unsubscribe/{ann.id}/{unsubscribe.token('test', 'other', ann.id)}",
        mine[:-1] + ("0" if mine[-1] != "0" else "1"),
        f"/messages/v1/nope/unsubscribe/{ann.id}/{token}",
    ):
        answer = visit(
            app, "POST", path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert answer.status_code == 404, path
        assert "This link is not valid" in answer.get_data(as_text=True)
    assert not opted_out(session, ann) and not opted_out(session, bob)
    assert other.id


ID = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=25),
    st.sampled_from(["9223372036854775808", "0", "01", "1\x00", "%00", "1e3", "١٢"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slug=st.one_of(st.just("acme"), st.text(max_size=70)), member_id=ID, token=st.text(max_size=40))
def test_no_link_of_any_shape_answers_500_or_changes_anything(app, session, program, ann, slug, member_id, token):
    path = f"/messages/v1/{quote(slug, safe='')}/unsubscribe/{quote(member_id, safe='')}/{quote(token, safe='')}"
    for method in ("GET", "POST"):
        answer = visit(
            app, method, path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        # 308: an encoded slash made "//", which the router answers with the merged path (a link that is not one)
        assert answer.status_code in (308, 400, 404, 405), (path, answer.status_code)
    assert not opted_out(session, ann)
