"""The kit for the HTTP API: a program's API key, and a test client that sends it."""

from __future__ import annotations

import pytest


@pytest.fixture
def loyalty_api_key(loyalty_session, loyalty_program, loyalty_clock):
    """The secret of a new ``read``+``write`` API key of the test program (``lk_…``), as a store would hold it."""
    from loyalty.access.api_keys import create_key

    new = create_key(loyalty_session, loyalty_program, name="kit", clock=loyalty_clock)
    loyalty_session.commit()
    return new.secret


@pytest.fixture
def loyalty_api(loyalty_app, loyalty_api_key):
    """A test client that sends ``Authorization: Bearer <loyalty_api_key>`` with every request.

    ``loyalty_api.get("/api/v1/members/c-1")``; like every kit client it
    commits the test's session first, as a caller in another process sees
    only what is committed.
    """
    client = loyalty_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {loyalty_api_key}"
    return client
