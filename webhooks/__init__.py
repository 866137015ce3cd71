"""Storefront webhook intake, installed as ``loyalty.webhooks``: verify, store, dedupe, process.

``POST /webhooks/<program>/<storefront>`` (see :mod:`loyalty.webhooks.intake`);
the inbox (:mod:`loyalty.webhooks.inbox`) keeps every delivery, processes
it, defers what cannot be processed yet and replays on request.
"""


def init_app(app) -> None:
    from loyalty.webhooks.intake import bp

    app.config.setdefault("WEBHOOK_MAX_BYTES", 1024 * 1024)
    app.config.setdefault("WEBHOOK_MAX_ATTEMPTS", 8)
    #: "inline": process each delivery in its request; "queued": answer once
    #: it is stored and leave it to ``loyalty worker`` (batches).
    app.config.setdefault("WEBHOOK_PROCESSING", "inline")
    app.register_blueprint(bp)
