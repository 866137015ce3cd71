"""The README's webhook receiver, run as written, gets the webhook channel's deliveries and verifies them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loyalty.plugins.channels import webhook
from tests.helpers.live_server import threaded
from tests.helpers.receiver import message

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SECTION = README.split("## Send events to other systems", 1)[1].split("\n## ", 1)[0]


@pytest.fixture
def receiver(monkeypatch):
    """The README's Python block, executed with its secret in the environment: its Flask app, served."""
    [code] = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)
    secret = webhook.new_secret()
    monkeypatch.setenv("LOYALTY_WEBHOOK_SECRET", secret)
    namespace: dict = {"__name__": "readme_receiver"}
    exec(compile(code, "README.md", "exec"), namespace)
    with threaded(namespace["app"]) as url:
        yield url + "/loyalty", secret, namespace["handled"]


def test_the_readme_receiver_verifies_and_skips_a_retry(receiver, capsys):
    url, secret, handled = receiver
    payload = {
        "id": "evt_readme",
        "type": "points.earned",
        "created_at": "2026-01-01T12:00:00Z",
        "program": "acme",
        "data": {"member": {"external_id": "c-1", "email": "ann@example.com", "name": "Ann"}, "points": 25},
    }
    first = webhook.WEBHOOK.send(message(url, uid="evt_readme", payload=payload, secret=secret))
    assert (first.status, first.code) == ("delivered", 204)
    assert handled == {"evt_readme"} and "ann@example.com earned 25 points" in capsys.readouterr().out
    again = webhook.WEBHOOK.send(message(url, uid="evt_readme", payload=payload, secret=secret))
    assert again.status == "delivered" and capsys.readouterr().out == ""  # the retry was recognised
    forged = webhook.WEBHOOK.send(message(url, uid="evt_other", payload=payload, secret=webhook.new_secret()))
    assert (forged.status, forged.code) == ("retry", 401) and handled == {"evt_readme"}
