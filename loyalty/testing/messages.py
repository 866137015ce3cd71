"""The kit for notification channels: a destination of your channel, events in the outbox, sending them."""

from __future__ import annotations

import pytest


@pytest.fixture
def loyalty_add_destination(loyalty_app, loyalty_session, loyalty_program, loyalty_registry, loyalty_clock):
    """``loyalty_add_destination("chat_room", {"url": ...}, events="all")`` → the destination, as the CLI adds it.

    The channel's schema validates ``config`` and its ``refuses`` is asked
    (``loyalty.plugin_api.errors.InvalidInput`` when either says no). The
    app's config is the settings: set ``loyalty_app.config["OUTBOUND_ALLOW_PRIVATE"] = True``
    for a receiver on this machine.
    """
    from loyalty.messages import destinations

    def add(channel: str, config: dict | None = None, *, events="all", name: str | None = None, program=None):
        destination = destinations.add(
            loyalty_session,
            program or loyalty_program,
            channel=channel,
            config=config or {},
            events=events,
            name=name,
            clock=loyalty_clock,
            registry=loyalty_registry,
            settings=loyalty_app.config,
        )
        loyalty_session.commit()
        return destination

    return add


@pytest.fixture
def loyalty_record_event(loyalty_session, loyalty_program, loyalty_clock):
    """``loyalty_record_event("referral.flagged", member, reason="…")`` puts one event in the outbox, as a change would."""
    from loyalty.messages import outbox

    def record(type: str, member=None, *, program=None, **data):
        outbox.record(
            loyalty_session,
            (program or loyalty_program).id,
            type,
            at=loyalty_clock.now(),
            member_id=member.id if member is not None else None,
            data=data,
        )
        loyalty_session.commit()

    return record


@pytest.fixture
def loyalty_send_messages(loyalty_app, loyalty_session, loyalty_registry, loyalty_clock):
    """``loyalty_send_messages()`` sends what is due now, as ``loyalty outbound send`` does → the counts.

    Counts are ``events`` (fanned out), ``delivered``, ``pending`` (to be
    retried: move ``loyalty_clock`` on and send again), ``failed``,
    ``skipped``.
    """
    from loyalty.messages import sending

    def send():
        counts = sending.send_due(
            loyalty_session, registry=loyalty_registry, settings=loyalty_app.config, clock=loyalty_clock
        )
        loyalty_session.commit()
        return counts

    return send


@pytest.fixture
def loyalty_deliveries(loyalty_session):
    """``loyalty_deliveries(status=None)`` → the deliveries, newest first (``status``, ``attempts``, ``last_error``…)."""
    from loyalty.messages import destinations

    def listed(status: str | None = None, *, program=None):
        return [delivery for delivery, _ in destinations.deliveries(loyalty_session, program=program, status=status)]

    return listed
