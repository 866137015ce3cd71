"""``SMTP_URL`` read, and one message handed to an SMTP server, with what became of it as an :class:`Outcome`.

The URL's forms, and why:

* ``smtp://user:password@host:587``: submission with STARTTLS, which is
  **required**: a server that does not offer it gets nothing, not even
  the password (an attacker on the path can strip the offer, so "when
  offered" would mean "never" for them).
* ``smtps://user:password@host:465``: TLS from the first byte.
* ``smtp://host:25?starttls=false``: no TLS at all, for a relay on the
  same machine or a test server. Say so explicitly; there is no default
  that sends in clear.

Certificates are checked against the system's trust store. Every network
wait is at most :data:`TIMEOUT` seconds. The password is URL-encoded in
the URL (``%40`` for ``@``) and never written anywhere: :func:`shown`
gives the URL as people may see it.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from loyalty.plugin_api import Outcome

if TYPE_CHECKING:
    import smtplib

#: Seconds for connecting and for each answer of the server (the channel contract: at most 10).
TIMEOUT = 10.0
PORTS = {"smtp": 587, "smtps": 465}
FALSE = ("false", "no", "off", "0")


class BadSmtpUrl(ValueError):
    """``SMTP_URL`` cannot be used; the message says why, without the password."""


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool

    def shown(self) -> str:
        """What the admin and the CLI show: host, port, security and user; never the password."""
        security = "TLS" if self.scheme == "smtps" else ("STARTTLS" if self.starttls else "no TLS")
        who = f" as {self.username}" if self.username else ""
        return f"{self.host}:{self.port} ({security}){who}"


def parse(url: str) -> Server:
    """The server an ``SMTP_URL`` names; :class:`BadSmtpUrl` says what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise BadSmtpUrl("SMTP_URL is not a URL (smtp://user:password@host:587)") from None
    if parts.scheme not in PORTS:
        raise BadSmtpUrl("SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS)")
    if not parts.hostname:
        raise BadSmtpUrl("SMTP_URL names no host")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise BadSmtpUrl(f"SMTP_URL has an unknown parameter: {', '.join(unknown)} (only starttls=false is known)")
    starttls = parts.scheme == "smtp" and query.get("starttls", ["true"])[-1].lower() not in FALSE
    return Server(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        starttls=starttls,
    )


def send(server: Server, message: EmailMessage) -> Outcome:
    """Hand ``message`` to ``server``; a 5xx answer is final (``failed``), anything else that goes wrong is retried."""
    import smtplib  # here, not at the top: only a sender needs it, and every command would import it

    try:
        smtp = _connect(server)
        try:
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
        finally:
            _quit(smtp)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return _refused(code, reply, "the recipient was refused")
    except smtplib.SMTPAuthenticationError as exc:
        # The platform's settings, not this message, are wrong: retried, so a fixed password sends it still.
        return Outcome.retry(
            f"the SMTP server refused the login: {exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code
        )
    except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and no SMTPUTF8: no retry mends that
        return Outcome.failed(f"the SMTP server cannot take this e-mail: {exc}")
    except smtplib.SMTPResponseException as exc:
        return _refused(exc.smtp_code, exc.smtp_error, "the SMTP server refused the message")
    except NoStartTls:
        return Outcome.retry(f"{server.host}:{server.port} does not offer STARTTLS (SMTP_URL requires it)")
    except ssl.SSLError as exc:
        return Outcome.retry(f"TLS with {server.host}:{server.port} failed: {exc.reason or exc}")
    except (smtplib.SMTPException, OSError) as exc:  # refused or dropped connections, timeouts, DNS
        return Outcome.retry(f"could not reach {server.host}:{server.port}: {type(exc).__name__}: {exc}")
    return Outcome.delivered(250, "accepted by the SMTP server")


class NoStartTls(Exception):
    """The server does not offer STARTTLS, which the URL requires."""


def _connect(server: Server) -> smtplib.SMTP:
    import smtplib

    if server.scheme == "smtps":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=ssl.create_default_context())
    smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT, local_hostname=_local_name())
    try:
        smtp.ehlo()
        if server.starttls:
            if not smtp.has_extn("starttls"):
                raise NoStartTls
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the message was accepted, whatever the server answers to QUIT changes nothing."""
    import smtplib

    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _local_name() -> str:
    # smtplib asks the resolver for the machine's full name, which can wait for DNS well beyond the timeout.
    return socket.gethostname() or "localhost"


def _refused(code: int, reply, what: str) -> Outcome:
    detail = f"{what}: {code} {_text(reply)}"
    if 500 <= code < 600:
        return Outcome.failed(detail, code)
    return Outcome.retry(detail, code)


def _text(reply) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:500]
