"""``loyalty demo-receiver``: a store's system that receives the demo's outbound webhooks, as a real receiver would.

It checks every request's Standard Webhooks signature with the
``standardwebhooks`` library (the reference implementation receivers use)
against the secrets of the program's webhook endpoints, read from the
database at each request (so the endpoint ``loyalty demo`` adds, or a
rotated secret, counts at once), prints each event it accepts, and keeps
the last ones for ``GET /events``, which ``loyalty demo`` reads for its
summary. It keeps each ``webhook-id`` once: a retry of an event it has is
answered 200 and not printed again, as receivers are asked to do.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import with_appcontext
from standardwebhooks import Webhook, WebhookVerificationError
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from loyalty import errors
from loyalty.cli.demo import SLUG, line
from loyalty.db import db
from loyalty.messages.destinations import find
from loyalty.programs.program import get_program

#: The events kept for ``GET /events`` (the newest last).
KEEP = 50
#: The largest body read; more is refused (a receiver sets a limit).
MAX_BODY = 1024 * 1024


def receiver_app(secrets: Callable[[], list[str]], echo: Callable[[str], None] = click.echo):
    """The WSGI app: ``POST /hooks`` (signed per Standard Webhooks), ``GET /events`` (the last ones, JSON)."""
    kept: OrderedDict[str, dict] = OrderedDict()
    lock = threading.Lock()

    def receive(request: Request) -> Response:
        if request.content_length is None or request.content_length > MAX_BODY:
            return Response("a body of at most 1 MiB, with its length\n", status=413)
        body = request.get_data()
        headers = {name.lower(): value for name, value in request.headers.items()}
        for secret in secrets():
            try:
                event = Webhook(secret).verify(body, headers)
                break
            except (WebhookVerificationError, ValueError):
                continue
        else:
            echo(f"refused a request with no valid signature (webhook-id {headers.get('webhook-id', '-')!r})")
            return Response("no valid Standard Webhooks signature\n", status=401)
        if not isinstance(event, dict):
            return Response("the body is not a JSON object\n", status=400)
        webhook_id = headers["webhook-id"]
        with lock:
            seen = webhook_id in kept
            if not seen:
                kept[webhook_id] = event
                while len(kept) > KEEP:
                    kept.popitem(last=False)
        if not seen:
            echo(f"received {line(event)}  ({webhook_id})")
        return Response(status=204)

    def app(environ, start_response):
        request = Request(environ)
        if request.path == "/hooks" and request.method == "POST":
            response = receive(request)
        elif request.path == "/events" and request.method == "GET":
            with lock:
                events = list(kept.values())
            response = Response(json.dumps(events), mimetype="application/json")
        else:
            response = Response("POST /hooks, GET /events\n", status=404)
        return response(environ, start_response)

    return app


@click.command("demo-receiver")
@click.option("--bind", default="127.0.0.1:8002", show_default=True, help="Address and port of the receiver.")
@click.option("--program", "program_slug", default=SLUG, show_default=True)
@with_appcontext
def demo_receiver(bind, program_slug):
    """Receive the demo's outbound webhooks, verify their signatures and print them (make demo runs it)."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("write it host:port, like 127.0.0.1:8002", param_hint="--bind")
    app = current_app._get_current_object()

    def secrets() -> list[str]:
        with app.app_context():
            try:
                program = get_program(db.session, program_slug)
                return [d.config.get("secret") or "" for d in find(db.session, program=program, channel="webhook")]
            except errors.UnknownProgram:
                return []
            finally:
                db.session.remove()

    click.echo(f"Demo receiver for program {program_slug}'s outbound webhooks at http://{bind}/hooks")
    run_simple(host, int(port), receiver_app(secrets), threaded=True)


def register(main) -> None:
    main.add_command(demo_receiver)
