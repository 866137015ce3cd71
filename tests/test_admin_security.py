"""The admin against an attacker: sessions that end, a sign-in limit all workers share, security headers,
and hostile ids, cursors and text that answer 4xx and change nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty.models import AdminUser, AuditEntry
from tests.conftest import snapshot
from tests.test_admin import PASSWORD, Browser, browser, shop, signed_in, users  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
HUGE = "9" * 40  # beyond 64 bits


def saved_session(person: Browser) -> str:
    return person.client.get_cookie("session", domain="localhost").value


def replay(app, cookie: str, name: str = "session") -> Browser:
    """Another browser holding a copy of a saved cookie (as a thief would)."""
    thief = Browser(app)
    thief.client.set_cookie(name, cookie, domain="localhost")
    return thief


def signed_out(answer) -> bool:
    return answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


class TestSessionsEnd:
    def test_a_saved_session_cookie_no_longer_opens_the_admin_after_sign_out(self, app, users):
        owner = signed_in(app, "owner@example.com")
        cookie = saved_session(owner)
        assert replay(app, cookie).get("/admin/").status_code == 200  # a copy works while signed in
        owner.post("/admin/logout", {"csrf_token": owner.token("/admin/")})
        assert signed_out(owner.get("/admin/"))
        assert signed_out(replay(app, cookie).get("/admin/"))

    def test_a_remember_me_cookie_made_before_sign_out_no_longer_signs_in(self, app, session, users):
        from flask_login.utils import encode_cookie

        owner = signed_in(app, "owner@example.com")
        with app.test_request_context():
            remember = encode_cookie(session.get(AdminUser, users["owner"].id).get_id())
        session.rollback()
        assert replay(app, remember, "remember_token").get("/admin/").status_code == 200
        owner.post("/admin/logout", {"csrf_token": owner.token("/admin/")})
        assert signed_out(replay(app, remember, "remember_token").get("/admin/"))

    def test_a_password_change_ends_the_accounts_sessions(self, app, session, runner, users):
        owner, manager = signed_in(app, "owner@example.com"), signed_in(app, "manager@example.com")
        cookie = saved_session(owner)
        answer = runner.invoke(args=["admins", "set-password", "--email", "OWNER@example.com",
                                     "--password", "a brand new password"])
        assert answer.exit_code == 0, answer.output
        assert "owner@example.com" in answer.output and "signed out" in answer.output
        assert signed_out(owner.get("/admin/")) and signed_out(replay(app, cookie).get("/admin/"))
        assert manager.get("/admin/").status_code == 200  # another account's sessions go on
        assert Browser(app).sign_in("owner@example.com").status_code == 200  # the old password is refused
        assert Browser(app).sign_in("owner@example.com", "a brand new password").status_code == 302
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "admin.set_password"))
        assert entry.actor.startswith("cli:") and entry.target == "admin:owner@example.com"

    def test_set_password_refuses_an_unknown_account_or_a_short_password(self, runner, session, users):
        before = session.scalar(select(AdminUser.password_hash).where(AdminUser.email == "owner@example.com"))
        for args, message in ((["--email", "nobody@example.com", "--password", "long enough pw"], "no admin account"),
                              (["--email", "owner@example.com", "--password", "short"], "at least 10")):
            answer = runner.invoke(args=["admins", "set-password", *args])
            assert answer.exit_code != 0 and message in answer.output
        session.expire_all()
        assert session.scalar(select(AdminUser.password_hash).where(AdminUser.email == "owner@example.com")) == before


class TestSignInLimitAcrossWorkers:
    def test_two_workers_sharing_the_database_share_the_limit(self, app, session, users):
        """Two processes, as gunicorn's workers are, each trying 8 wrong passwords at the same time: 10 get through."""
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        workers = [subprocess.Popen([sys.executable, "-m", "tests.login_attempts", url, "8"], cwd=ROOT,
                                    stdout=subprocess.PIPE, text=True) for _ in range(2)]
        statuses = [status for worker in workers for status in json.loads(worker.communicate(timeout=120)[0])]
        assert sorted(statuses) == [200] * 10 + [429] * 6

    def test_the_counts_live_in_the_database_and_a_window_starts_afresh(self, app, monkeypatch):
        from loyalty import rate_limits
        from loyalty.admin import limiter

        storage = limiter.storage
        assert isinstance(storage, rate_limits.DatabaseStorage)
        monkeypatch.setattr(rate_limits, "_now", lambda: 1000.0)
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get("k") == 3 and storage.get_expiry("k") == 1060.0 and storage.get("other") == 0
        monkeypatch.setattr(rate_limits, "_now", lambda: 1060.5)  # the window has passed
        assert storage.get("k") == 0 and storage.incr("k", 60) == 1 and storage.get_expiry("k") == 1120.5
        storage.clear("k")
        assert storage.get("k") == 0 and storage.check()
