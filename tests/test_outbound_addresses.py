"""The SSRF guard: URLs that would lead inside the platform's network are refused, with a reason, at every spelling."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty import errors
from loyalty.messages import addresses
from loyalty.messages.addresses import check_public_url, refusal

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT (shared)
        ("192.0.2.1", "private"),  # documentation
        ("::ffff:127.0.0.1", "loopback address inside an IPv6 address"),
        ("::ffff:10.0.0.1", "private address inside an IPv6 address"),
        ("64:ff9b::7f00:1", "loopback address inside an IPv6 address"),  # NAT64
        ("2002:a9fe:a9fe::1", "link-local address inside an IPv6 address"),  # 6to4 of 169.254.169.254
    ],
)
def test_addresses_inside_are_refused_with_what_they_are(address, words):
    assert words in refusal(address)


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert refusal(address) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://hooks.example/x", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
        ("hooks.example/loyalty", "only http and https"),
        ("http:///no-host", "no host name"),
        ("http://127.0.0.1/", "127.0.0.1, a loopback address"),
        ("http://[::1]:8080/", "::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.0.0.7/admin", "a private address"),
        ("http://localhost:5432/", "a loopback address"),
        ("http://LOCALHOST./", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "loopback address inside an IPv6 address"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local address inside an IPv6 address"),
        ("http://2130706433/", "a loopback address"),  # 127.0.0.1 as one number
        ("http://0x7f.1/", "a loopback address"),
        ("http://0/", "unspecified"),
        ("https://hooks.example/" + "a" * 2000, "at most 2000"),
        ("https://hooks.example/\x00", "control characters"),
        ("https://hooks.example/a b", "spaces"),
        ("https://user:pass@hooks.example/", "no user name or password"),
        ("https://hooks.example:99999/", "is not a URL"),
        ("https://[::1/", "is not a URL"),
        ("", "give the endpoint's URL"),
        (None, "give the endpoint's URL"),
        (42, "give the endpoint's URL"),
    ],
)
def test_hostile_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(errors.InvalidInput) as refused:
        check_public_url(url)
    assert words in refused.value.message
    assert refused.value.details["fields"]["url"] == [refused.value.message]


def test_a_host_is_refused_if_any_of_its_addresses_is_inside():
    with mock.patch.object(addresses, "resolve", lambda host, port: [PUBLIC_V4, "10.0.0.1"]):
        with pytest.raises(errors.InvalidInput, match="resolves to 10.0.0.1"):
            check_public_url("https://mixed.example/")


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(errors.InvalidInput, match="does not resolve"):
        check_public_url("https://no-such-host.invalid/hooks")


def test_a_public_url_gives_the_addresses_to_connect_to():
    with mock.patch.object(addresses, "resolve", lambda host, port: [PUBLIC_V4, PUBLIC_V4, PUBLIC_V6]):
        target = check_public_url("https://Hooks.Example:8443/loyalty?x=1")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example", 8443)
    assert target.addresses == (PUBLIC_V4, PUBLIC_V6)


def test_allowing_private_addresses_checks_only_the_shape():
    assert check_public_url("http://127.0.0.1:8621/hooks", allow_private=True).addresses == ()
    with pytest.raises(errors.InvalidInput, match="only http and https"):
        check_public_url("file:///etc/passwd", allow_private=True)
    assert addresses.allow_private({"OUTBOUND_ALLOW_PRIVATE": True})
    assert addresses.allow_private({"OUTBOUND_ALLOW_PRIVATE": "true"})
    assert not addresses.allow_private({"OUTBOUND_ALLOW_PRIVATE": "false"}) and not addresses.allow_private({})


def _fake_resolve(host, port):
    """Deterministic DNS for the property test: every name is public except those that spell an address inside."""
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]
    return ["127.0.0.1"] if "local" in host else [PUBLIC_V4]


URLS = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda scheme, host, rest: f"{scheme}://{host}{rest}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "file", "javascript", ""]),
        st.one_of(
            st.text(max_size=60),
            st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
            st.sampled_from(["localhost", "hooks.example", "xn--bcher-kva.example", "bücher.example", "a..b"]),
        ),
        st.text(max_size=80),
    ),
)


@settings(max_examples=400, deadline=None)
@given(URLS)
def test_any_url_is_either_refused_with_a_reason_or_leads_only_to_public_addresses(url):
    with mock.patch.object(addresses, "resolve", _fake_resolve):
        try:
            target = check_public_url(url)
        except errors.InvalidInput as refused:
            assert refused.message and refused.details["fields"]["url"]
            return
    assert target.scheme in ("http", "https") and target.host and 0 < target.port < 65536
    assert target.addresses and all(refusal(a) is None for a in target.addresses)
    assert len(url) <= addresses.MAX_URL and "\x00" not in url
