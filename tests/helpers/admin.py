"""A person in front of the admin (:class:`Browser`), and the fixtures the admin's tests share.

``shop`` (the program with members, one named like an attack), ``users``
(an owner, a manager, a viewer and a manager limited to another program,
all with :data:`PASSWORD`) and ``browser``: a test module uses them by
importing them by name.
"""

from __future__ import annotations

import re

import pytest

from loyalty.access.admin_users import create_admin
from loyalty.earning.events import Customer
from loyalty.earning.pipeline import enrol
from loyalty.ledger import Ledger
from loyalty.programs.program import create_program

PASSWORD = "correct-horse-battery"


@pytest.fixture
def shop(session, program, clock, registry):
    """The program with members, one of them named like an attack."""
    ann, _ = enrol(session, program, Customer("c-ann", "ann@example.com", "Ann Archer"), registry=registry, clock=clock)
    enrol(
        session,
        program,
        Customer("c-evil", "evil@example.com", "<script>alert(1)</script>"),
        registry=registry,
        clock=clock,
    )
    Ledger(session, clock).earn(ann, 300, key="seed")
    session.commit()
    return program


@pytest.fixture
def users(session, shop, clock):
    other = create_program(session, slug="other", name="Other shop", currency="EUR", clock=clock)
    made = {
        role: create_admin(session, email=f"{role}@example.com", password=PASSWORD, role=role, clock=clock)
        for role in ("owner", "manager", "viewer")
    }
    made["limited"] = create_admin(
        session, email="limited@example.com", password=PASSWORD, role="manager", programs=[other], clock=clock
    )
    session.commit()
    return made


class Browser:
    """A person in front of the admin: the test client over https (the session cookie is Secure).

    Each request runs in an app context of its own, as in production (the
    test's long-lived one would share ``g``, where Flask-Login and Flask-WTF
    keep the signed-in user and the CSRF token, between two people), after
    the test's own session is committed (a browser sees committed data).
    """

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.base = "https://localhost"

    def _open(self, method, path, **kw):
        from loyalty.db import db

        db.session.commit()
        with self.app.app_context():
            return self.client.open(self.base + path, method=method, **kw)

    def get(self, path, **kw):
        return self._open("GET", path, **kw)

    def post(self, path, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.token(path)
        headers = {"Referer": self.base + path, **kw.pop("headers", {})}  # browsers send it; CSRF checks it on https
        return self._open("POST", path, data=data, headers=headers, **kw)

    def token(self, path) -> str:
        page = self.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def sign_in(self, email, password=PASSWORD):
        return self.post("/admin/login", {"email": email, "password": password})


@pytest.fixture
def browser(app):
    return Browser(app)


def signed_in(app, email) -> Browser:
    """A :class:`Browser` signed in as ``email`` (with :data:`PASSWORD`)."""
    person = Browser(app)
    assert person.sign_in(email).status_code == 302
    return person
