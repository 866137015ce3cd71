"""The SSRF guard: a URL the platform is told to call must lead out to the internet, not into its own network.

Program managers type endpoint URLs; the platform then calls them from
inside its network. Without a guard, ``http://169.254.169.254/`` (a
cloud's metadata service), ``http://localhost:5432/`` or
``http://10.0.0.7/admin`` would make it an attacker's proxy. So a URL is
refused unless every address its host resolves to is a public one: not
loopback, private, link-local, shared (CGNAT), multicast, reserved,
documentation or unspecified, IPv4 and IPv6 alike, an IPv4 address
written inside an IPv6 one (``::ffff:127.0.0.1``, NAT64, 6to4) included.
Odd spellings (``http://2130706433/``, ``http://0x7f.1/``) are caught
because the check is on what the host *resolves to*, not how it is written.

The check runs when an endpoint is added and again before every send (DNS
may have changed: "DNS rebinding"); the sender then connects to the
addresses that were checked (:class:`Target` ``addresses``), not to
whatever a second lookup would return.

``LOYALTY_OUTBOUND_ALLOW_PRIVATE=true`` (``OUTBOUND_ALLOW_PRIVATE`` in the
app's config) turns the address check off, for a receiver on the same
machine or network (the tests, the demo, an intranet CRM); the URL's shape
is still checked.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from loyalty.errors import InvalidInput

#: Longer URLs are refused (they fit the database column and every HTTP server's request line).
MAX_URL = 2000
SETTING = "OUTBOUND_ALLOW_PRIVATE"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Why an address is not public, in the order the checks are made (the first that holds is said).
_KINDS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard: its parts, and the addresses it was found to resolve to (empty when not checked)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def allow_private(settings) -> bool:
    """Whether the app's config lets outbound calls reach private addresses (``LOYALTY_OUTBOUND_ALLOW_PRIVATE``)."""
    value = settings.get(SETTING, False) if settings is not None else False
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _refuse(message: str):
    return InvalidInput(message, fields={"url": [message]})


def check_url_shape(url) -> SplitResult:
    """An ``http(s)://host…`` URL without credentials, spaces or control characters, at most :data:`MAX_URL` long.

    No DNS lookup: this is what a form or a config schema can say at once.
    """
    if not isinstance(url, str) or not url.strip():
        raise _refuse("give the endpoint's URL, like https://hooks.example.com/loyalty")
    if len(url) > MAX_URL:
        raise _refuse(f"the URL is {len(url)} characters long: at most {MAX_URL}")
    if any(ord(char) < 0x21 or 0x7F <= ord(char) < 0xA0 for char in url):
        raise _refuse("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise _refuse(f"{url[:100]!r} is not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse(f"only http and https URLs can be called, not {parts.scheme or 'a URL without a scheme'}")
    if not parts.hostname:
        raise _refuse("the URL has no host name")
    if parts.username is not None or parts.password is not None:
        raise _refuse("put no user name or password in the URL (a token in the path or the signing secret does that)")
    try:
        _ascii_host(parts.hostname)
    except UnicodeError:
        raise _refuse(f"{parts.hostname[:100]!r} is not a valid host name") from None
    return parts


def _ascii_host(host: str) -> str:
    host = host.rstrip(".") if not host.startswith("[") else host
    if host.isascii():
        return host.lower()
    return host.encode("idna").decode("ascii")


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order (tests replace this function)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def refusal(address: str) -> str | None:
    """Why the platform does not call this address (``"a loopback address"``), or ``None`` for a public one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local anyway
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = (
            ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        )
        if embedded is not None:
            inner = refusal(str(embedded))
            return f"{inner} inside an IPv6 address" if inner else None
    for attribute, words in _KINDS:
        if getattr(ip, attribute):
            return words
    if not ip.is_global:
        return "not a public address"
    return None


def check_public_url(url, *, allow_private: bool = False) -> Target:
    """Check a URL before calling it; the :class:`Target` to connect to. Raises :class:`InvalidInput` saying why not.

    With ``allow_private`` only the shape is checked and nothing is resolved
    (``addresses`` is empty: connect by name). Otherwise the host must
    resolve, and to public addresses only; ``addresses`` are the ones to
    connect to.
    """
    parts = check_url_shape(url)
    scheme = parts.scheme.lower()
    host = _ascii_host(parts.hostname)
    port = parts.port or (443 if scheme == "https" else 80)
    if allow_private:
        return Target(url, scheme, host, port, ())
    try:
        found = list(dict.fromkeys(resolve(host, port)))
    except (OSError, UnicodeError):
        raise _refuse(f"the host name {host[:100]} does not resolve (a typo, or DNS is down)") from None
    if not found:
        raise _refuse(f"the host name {host[:100]} does not resolve to any address")
    for address in found:
        why = refusal(address)
        if why is not None:
            raise _refuse(
                f"{host[:100]} resolves to {address}, {why}: the platform calls only public addresses "
                f"(LOYALTY_OUTBOUND_ALLOW_PRIVATE=true allows others, for a receiver on this network)"
            )
    return Target(url, scheme, host, port, tuple(found))
