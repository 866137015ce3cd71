"""``loyalty inbox …`` and ``loyalty worker``: the webhook inbox's commands, brought by the webhooks package.

Attached to ``app.cli`` by :func:`loyalty.webhooks.init_app` (the core's
:mod:`loyalty.cli` knows nothing of the inbox): list, inspect, retry and
replay deliveries, and the worker that processes queued ones in batches.
"""

from __future__ import annotations

import json
import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from loyalty import errors
from loyalty.cli.common import transactional
from loyalty.clock import current_clock
from loyalty.db import db
from loyalty.messages import sending
from loyalty.models import Program, Storefront, WebhookDelivery
from loyalty.models.webhooks import DELIVERY_STATUSES
from loyalty.programs.program import get_program
from loyalty.registry import current_registry
from loyalty.webhooks import inbox
from loyalty.webhooks import worker as loop

inbox_group = AppGroup("inbox", help="The webhook inbox: list, inspect, retry, replay deliveries.")


@inbox_group.command("list")
@click.option("--program", "program_slug", help="Only this program.")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--limit", default=50, show_default=True)
@transactional
def inbox_list(program_slug, status, limit):
    """Deliveries, newest first."""
    query = (
        select(WebhookDelivery, Storefront.type, Program.slug)
        .join(Storefront, Storefront.id == WebhookDelivery.storefront_id)
        .join(Program, Program.id == WebhookDelivery.program_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if program_slug:
        query = query.where(WebhookDelivery.program_id == get_program(db.session, program_slug).id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    rows = db.session.execute(query).all()
    if not rows:
        click.echo("No deliveries.")
    for delivery, storefront_type, slug in rows:
        line = (
            f"{delivery.id:>6}  {delivery.received_at:%Y-%m-%d %H:%M}  {slug}/{storefront_type:12} "
            f"{delivery.topic:28} {delivery.status:9} tries {delivery.attempts}"
        )
        if delivery.last_error:
            line += f"  {delivery.last_error}"
        click.echo(line)


def _delivery(delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise errors.NotFound(f"no webhook delivery {delivery_id}")
    return delivery


@inbox_group.command("show")
@click.argument("delivery_id", type=int)
@transactional
def show(delivery_id):
    """One delivery: status, error, headers kept and the body."""
    delivery = _delivery(delivery_id)
    click.echo(
        f"Delivery {delivery.id} ({delivery.delivery_id}), topic {delivery.topic}: {delivery.status}, "
        f"{delivery.attempts} attempt(s)"
    )
    if delivery.last_error:
        click.echo(f"Last error: {delivery.last_error}")
    if delivery.note:
        click.echo(f"Note: {delivery.note}")
    if delivery.next_attempt_at:
        click.echo(f"Next attempt: {delivery.next_attempt_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"Headers: {json.dumps(delivery.headers)}")
    click.echo(delivery.body.decode("utf-8", "replace"))


@inbox_group.command("replay")
@click.argument("delivery_id", type=int)
@transactional
def replay(delivery_id):
    """Process a delivery again (a processed one changes nothing)."""
    _delivery(delivery_id)
    db.session.rollback()
    delivery = inbox.replay(db.session, delivery_id, registry=current_registry())
    click.echo(
        f"Delivery {delivery.id}: {delivery.status}" + (f" ({delivery.last_error})" if delivery.last_error else "")
    )


@inbox_group.command("retry")
@transactional
def retry():
    """Process deliveries that are due: deferred ones, and any a crash left unprocessed."""
    done = inbox.retry_due(
        db.session, registry=current_registry(), max_attempts=current_app.config["WEBHOOK_MAX_ATTEMPTS"]
    )
    counts: dict[str, int] = {}
    for delivery in done:
        counts[delivery.status] = counts.get(delivery.status, 0) + 1
    click.echo(
        f"Retried {len(done)} deliveries"
        + (": " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else ".")
    )


@click.command("worker")
@click.option("--batch", default=100, show_default=True, help="Deliveries per transaction.")
@click.option(
    "--idle",
    default=0.2,
    show_default=True,
    help="Seconds to wait when a batch was not full (so the next one fills up) or the queue is empty.",
)
@click.option("--once", is_flag=True, help="Process what is due now, then stop.")
@click.option(
    "--messages/--no-messages",
    default=True,
    show_default=True,
    help="Also send the outbox's due messages (outbound webhooks, e-mail), in a thread of their own.",
)
@with_appcontext
def worker(batch, idle, once, messages):
    """Process stored webhook deliveries in batches (for WEBHOOK_PROCESSING=queued; run several), and send messages.

    The messages (outbound webhooks, e-mails) go from a thread of their own, so a slow receiver never
    holds up the inbox. While the database is away it logs one line, retries with backoff (0.5 s
    doubling to 30 s) and carries on once it answers; SIGTERM or Ctrl-C stops it, during a wait too.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per outbound request drowns the worker's own
    stop = threading.Event()

    def stopping(*_):
        stop.set()  # the batch under way finishes; a second Ctrl-C interrupts it
        signal.signal(signal.SIGINT, signal.default_int_handler)

    handlers = {signum: signal.signal(signum, stopping) for signum in (signal.SIGTERM, signal.SIGINT)}
    sender = _start_sender(stop) if messages and not once else None
    try:
        total = loop.run(
            db.session,
            registry=current_registry(),
            batch=batch,
            idle=idle,
            once=once,
            stop=stop,
            max_attempts=current_app.config["WEBHOOK_MAX_ATTEMPTS"],
        )
    finally:
        stop.set()
        if sender is not None:
            sender.join()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if sender is not None and sender.failed:
        raise click.ClickException(
            "the messages' sender stopped on an error (logged above); the worker stopped with it"
        )
    if messages and once:
        sent = sending.send_due(
            db.session, registry=current_registry(), settings=current_app.config, clock=current_clock()
        )
        db.session.commit()
        click.echo(f"Sent {sent['delivered']} messages.")
    click.echo(f"Processed {total} deliveries.")


def _start_sender(stop: threading.Event) -> threading.Thread:
    """The messages' sender, in its own thread and app context (so its own database session)."""
    app = current_app._get_current_object()
    registry = current_registry()

    def send() -> None:
        with app.app_context():
            try:
                sending.run(db.session, registry=registry, settings=app.config, clock=current_clock(), stop=stop)
            except Exception:
                # Not an outage (those it rides out): a bug. The whole worker stops with it, non-zero, so that
                # its supervisor restarts it, rather than processing the inbox on while nothing is sent.
                sending.log.exception("the messages' sender stopped on an error")
                thread.failed = True
                stop.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=send, name="loyalty-messages", daemon=True)
    thread.failed = False
    thread.start()
    return thread


def register(main) -> None:
    main.add_command(inbox_group)
    main.add_command(worker)
