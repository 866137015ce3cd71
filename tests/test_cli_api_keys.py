"""``loyalty api-keys``: create (shown once), list, revoke; the key works on the API until revoked."""

from __future__ import annotations

import re

from sqlalchemy import select

from loyalty.models import ApiKey
from tests.helpers.cli import fails, ok


def test_create_list_revoke(runner, app, session, program, member):
    created = ok(runner, "api-keys", "create", "--program", "acme", "--name", "storefront")
    secret = re.search(r"(lk_[0-9a-f]{8}_\S+)", created).group(1)
    prefix = secret[:11]
    stored = session.scalar(select(ApiKey))
    assert stored.prefix == prefix and secret not in stored.key_hash and stored.scopes == "read write"
    client = app.test_client()
    assert client.get("/api/v1/members/c-1", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = ok(runner, "api-keys", "list", "--program", "acme")
    assert prefix in listed and "active" in listed and secret not in listed
    ok(runner, "api-keys", "revoke", "--program", "acme", prefix)
    assert "revoked" in ok(runner, "api-keys", "list", "--program", "acme")
    assert client.get("/api/v1/members/c-1", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_read_only_key_and_bad_input(runner, session, program):
    assert "(dashboard, read)" in ok(
        runner, "api-keys", "create", "--program", "acme", "--name", "dashboard", "--scope", "read"
    )
    assert "unknown_program" in fails(runner, "api-keys", "create", "--program", "nope", "--name", "x")
    assert "invalid_input" in fails(runner, "api-keys", "create", "--program", "acme", "--name", " ")
    assert "not_found" in fails(runner, "api-keys", "revoke", "--program", "acme", "lk_00000000")
    assert len(session.scalars(select(ApiKey)).all()) == 1
