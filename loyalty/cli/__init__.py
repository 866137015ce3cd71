"""The ``loyalty`` command's commands.

Every command runs inside the app (configuration, database): they are
attached to ``app.cli`` by :func:`init_app`, the Flask way, so
``app.test_cli_runner()`` sees exactly what users see. Packages outside
the core attach their own the same way (the webhooks package its
``inbox`` and ``worker``). The console entry point that builds the app
for them is :mod:`loyalty.console`. Commands are thin: they parse, call a
service, print.
"""

from __future__ import annotations

from loyalty.cli import (
    admins,
    api_keys,
    demo,
    demo_receiver,
    demo_store,
    email,
    events,
    jobs,
    members,
    outbound,
    plugins,
    points,
    programs,
    referrals,
    rewards,
    rules,
    serve,
    storefronts,
    tiers,
    verify,
    widget,
)


def init_app(app) -> None:
    for module in (
        programs,
        members,
        points,
        rules,
        tiers,
        referrals,
        rewards,
        events,
        storefronts,
        api_keys,
        widget,
        outbound,
        email,
        jobs,
        plugins,
        verify,
        admins,
        demo,
        demo_receiver,
        demo_store,
        serve,
    ):
        module.register(app.cli)
