"""Members whose external id contains ``/`` (``a/b@example.com``) are reachable on every path that takes one.

Clients encode the slash (``/members/team%2Fann``), which WSGI servers
decode before routing; ids that end like a sub-resource
(``x/transactions``) must still reach the member, not the sub-resource.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.access.api_keys import create_key
from loyalty.ledger import Ledger
from loyalty.programs.members import enrol, find_member
from loyalty.referrals import set_terms
from loyalty.rewards import add_reward

API = "/api/v1"

IDS = [
    "team/ann",
    "a/b@example.com",
    "/leading",
    "trailing/",
    "x//y",
    "x/transactions",
    "x/redemptions",
    "x/redemptions/1/cancel",
    "x/adjustments",
    "x/referrals",
    "100%/sure",
    "é/ü",
    "a%2Fb",
    "line\nbreak/x",
]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def shop(session, program, registry, clock):
    set_terms(program, registry, referrer_points=100, friend_points=50)
    reward = add_reward(
        session, program, registry, type="free_shipping_code", name="Free shipping", points=100, clock=clock
    )
    key = create_key(session, program, name="shop", clock=clock).secret
    session.commit()
    return {"auth": {"Authorization": f"Bearer {key}"}, "reward": reward.id}


def path_of(external_id: str) -> str:
    return quote(external_id, safe="")


def walk(client, session, program, clock, shop, external_id):
    """Enrol through the API, then every path that takes the id, percent-encoded as a client would."""
    auth = shop["auth"]
    enrolled = client.post(f"{API}/members", json={"external_id": external_id}, headers=auth)
    assert enrolled.status_code == 201, enrolled.json
    member = find_member(session, program, external_id)
    Ledger(session, clock).earn(member, 500, key=f"seed:{external_id}")
    session.commit()
    at = f"{API}/members/{path_of(external_id)}"
    got = client.get(at, headers=auth)
    assert got.status_code == 200 and got.json["external_id"] == external_id, (at, got.json)
    history = client.get(f"{at}/transactions", headers=auth)
    assert history.status_code == 200 and len(history.json["data"]) == 1, (at, history.json)
    adjusted = client.post(
        f"{at}/adjustments",
        json={"points": 5, "reason": "x"},
        headers={**auth, "Idempotency-Key": f"adj:{path_of(external_id)}"},
    )
    assert adjusted.status_code == 201 and adjusted.json["balances"]["available"] == 505, adjusted.json
    redeemed = client.post(
        f"{at}/redemptions",
        json={"reward_id": shop["reward"]},
        headers={**auth, "Idempotency-Key": f"red:{path_of(external_id)}"},
    )
    assert redeemed.status_code == 201, redeemed.json
    listed = client.get(f"{at}/redemptions", headers=auth)
    assert listed.status_code == 200 and [r["id"] for r in listed.json["data"]] == [redeemed.json["id"]]
    cancelled = client.post(f"{at}/redemptions/{redeemed.json['id']}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled", cancelled.json
    referrals = client.get(f"{at}/referrals", headers=auth)
    assert referrals.status_code == 200, referrals.json
    catalog = client.get(f"{API}/rewards", query_string={"member": external_id}, headers=auth)
    assert catalog.status_code == 200 and catalog.json[0]["available"] is True, catalog.json
    referred = client.post(
        f"{API}/referrals",
        headers=auth,
        json={"code": got.json["referral_code"], "friend": {"external_id": f"friend of {external_id}"}},
    )
    assert referred.status_code == 201 and referred.json["referrer"] == external_id, referred.json


@pytest.mark.parametrize("external_id", IDS)
def test_an_id_with_slashes_is_reachable_everywhere(client, session, program, clock, shop, external_id):
    walk(client, session, program, clock, shop, external_id)


def test_a_sub_resource_is_not_mistaken_for_a_member(client, session, program, clock, shop):
    """``x`` and ``x/transactions`` both exist: each path reaches what it names."""
    auth = shop["auth"]
    for external_id in ("x", "x/transactions"):
        assert client.post(f"{API}/members", json={"external_id": external_id}, headers=auth).status_code == 201
    assert client.get(f"{API}/members/x%2Ftransactions", headers=auth).json["external_id"] == "x/transactions"
    assert client.get(f"{API}/members/x%2ftransactions", headers=auth).json["external_id"] == "x/transactions"
    assert "data" in client.get(f"{API}/members/x/transactions", headers=auth).json
    assert client.get(f"{API}/members/x", headers=auth).json["external_id"] == "x"


def test_sub_resource_paths_are_never_members(app, client, shop):
    """A literal slash and a sub-resource's name: the sub-resource, or 405 with what it allows."""
    for method, path, allowed in [
        ("GET", "/members/x/adjustments", "POST"),
        ("PUT", "/members/x/transactions", "GET"),
        ("GET", "/members/x/redemptions/5/cancel", "POST"),
        ("OPTIONS", "/members/x/adjustments", "POST, OPTIONS"),
    ]:
        answer = client.open(f"{API}{path}", method=method, headers=shop["auth"])
        assert answer.status_code == (200 if method == "OPTIONS" else 405), (path, answer.status_code)
        methods = set(answer.headers["Allow"].split(", ")) - {"OPTIONS", "HEAD"}
        assert methods == set(allowed.split(", ")) - {"OPTIONS"}, (path, answer.headers["Allow"])


def test_the_sub_resources_are_the_routes(app):
    from loyalty.api.external_ids import SUB_RESOURCE

    tails = {rule.rule.split(">", 1)[1] for rule in app.url_map.iter_rules() if "<external_id:" in rule.rule}
    tails = {tail.replace("<int:redemption_id>", "7") for tail in tails if tail}
    assert tails and all(SUB_RESOURCE.search(f"x{tail}") for tail in tails), tails
    assert not SUB_RESOURCE.search("x/other")


def test_unencoded_slashes_reach_the_member_too(client, session, program, clock, shop):
    auth = shop["auth"]
    client.post(f"{API}/members", json={"external_id": "team/ann"}, headers=auth)
    assert client.get(f"{API}/members/team/ann", headers=auth).json["external_id"] == "team/ann"
    assert client.get(f"{API}/members/team/ann/transactions", headers=auth).status_code == 200


@pytest.mark.parametrize(
    "path", ["/members/team%00ann", "/members/team%00ann/transactions", "/members/a%2Fb%00/transactions"]
)
def test_a_nul_in_the_path_is_no_member(client, session, program, clock, shop, path):
    enrol(session, program, external_id="team/ann", clock=clock)
    session.commit()
    answer = client.get(f"{API}{path}", headers=shop["auth"])
    assert answer.status_code == 404 and answer.json["code"] == "unknown_member"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    external_id=st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=40
    ).filter(lambda text: text.strip() == text and text.strip())
)
def test_any_external_id_is_reachable(client, session, program, clock, shop, external_id):
    auth = shop["auth"]
    enrolled = client.post(f"{API}/members", json={"external_id": external_id}, headers=auth)
    assert enrolled.status_code in (200, 201), enrolled.json
    got = client.get(f"{API}/members/{path_of(external_id)}", headers=auth)
    assert got.status_code == 200 and got.json["external_id"] == external_id, (repr(external_id), got.json)
    history = client.get(f"{API}/members/{path_of(external_id)}/transactions", headers=auth)
    assert history.status_code == 200, history.json


def test_through_gunicorn(session, program, clock, shop, database_url, tmp_path):
    """gunicorn decodes %2F in PATH_INFO and passes RAW_URI: the same paths reach the same members."""
    import requests

    from tests.helpers.live_server import gunicorn

    for external_id in ("x", "x/transactions", "a/b@example.com"):
        enrol(session, program, external_id=external_id, clock=clock)
    session.commit()
    with gunicorn(database_url, tmp_path) as base:

        def get(path):
            return requests.get(f"{base}{API}{path}", headers=shop["auth"], timeout=10)

        assert get("/members/a%2Fb%40example.com").json()["external_id"] == "a/b@example.com"
        assert get("/members/x%2Ftransactions").json()["external_id"] == "x/transactions"
        assert get("/members/x%2Ftransactions/transactions").json()["data"] == []
        assert get("/members/x/transactions").json()["data"] == []
        assert get("/members/x").json()["external_id"] == "x"
        assert get("/members/a%00b").status_code == 404
