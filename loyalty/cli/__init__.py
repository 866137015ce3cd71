"""The ``loyalty`` command's commands.

Every command runs inside the app (configuration, database): they are
attached to ``app.cli`` by :func:`init_app`, the Flask way, so
``app.test_cli_runner()`` sees exactly what users see. Packages outside
the core attach their own the same way (the webhooks package its
``inbox`` and ``worker``). The console entry point that builds the app
for them is :mod:`loyalty.console`. Commands are thin: they parse, call a
service, print.

Each command's module is imported when the command runs, not before
(:class:`loyalty.cli.lazy.LazyCommand`): importing them all, and every
service they call, was a third of what ``loyalty --help`` took.
:data:`COMMANDS` names each command's module and the line ``--help``
lists it with; ``tests/test_cli_start.py`` holds the table to what the
modules register.
"""

from __future__ import annotations

from loyalty.cli.lazy import registered_by

#: ``(command, module in loyalty.cli, the first paragraph of its help)``, in the order they were always registered.
COMMANDS = (
    ("programs", "programs", "Create and list loyalty programs."),
    ("members", "members", "Enrol, list and inspect members."),
    ("points", "points", "Award, redeem, adjust and reverse points."),
    ("rules", "rules", "Earning rules: add, list, change, pause."),
    ("tiers", "tiers", "Program tiers, their scheme, recalculation and history."),
    ("referrals", "referrals", "Referral terms, fraud checks, and flagged referrals to review."),
    ("rewards", "rewards", "The reward catalog: rewards, code pools, redemptions."),
    ("events", "events", "Feed normalized events to the earning pipeline."),
    ("orders", "events", "Orders: try what an order would earn."),
    ("storefronts", "storefronts", "Connect stores: which adapter, which webhook secret."),
    ("api-keys", "api_keys", "API keys for storefronts and headless shops (Authorization: Bearer …)."),
    ("widget", "widget", "The storefront widget: shoppers see and spend their points on the store."),
    ("outbound", "outbound", "Outbound webhooks: send the program's events to a store's other systems."),
    ("email", "email", "E-mail to members (welcome, points, tiers, rewards) over SMTP_URL."),
    ("jobs", "jobs", "Scheduled jobs: their recent runs, or run one now."),
    (
        "scheduler",
        "jobs",
        "Run the scheduled jobs until stopped (one process; a second one skips what the first runs).",
    ),
    ("plugins", "plugins", "List installed plugins, their hooks and the types they contribute."),
    ("verify", "verify", "Check the ledger's invariants (docs/design.md) for every program."),
    ("create-admin", "admins", "Create an admin account."),
    ("admins", "admins", "The admin's accounts."),
    ("demo", "demo", "Create a demo program with tiers, rules, members and orders (safe to re-run)."),
    (
        "demo-receiver",
        "demo_receiver",
        "Receive the demo's outbound webhooks, verify their signatures and print them (make demo runs it).",
    ),
    (
        "demo-store",
        "demo_store",
        "Serve a sample store page with the rewards widget (make demo runs it beside the platform).",
    ),
    ("serve", "serve", "Serve the platform with gunicorn, and a worker that processes the webhooks it queues."),
)


def init_app(app) -> None:
    for name, module, summary in COMMANDS:
        app.cli.add_command(registered_by(f"loyalty.cli.{module}", name, summary))
