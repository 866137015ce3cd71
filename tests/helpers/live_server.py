"""Real HTTP servers for tests: ``loyalty serve`` (gunicorn) in its own process, or a WSGI app in a thread.

:func:`gunicorn` is for what only a real server shows: how gunicorn hands
the app a path (``RAW_URI``, ``%2F`` decoded in ``PATH_INFO``), and
clients that speak HTTP rather than WSGI. It runs on the real clock, in
its own process, so the test commits what it wants the server to see.
:func:`threaded` serves an application of the test's own (its app, on its
frozen clock; the widget tests' storefront) for a browser.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

LOYALTY = Path(sys.executable).with_name("loyalty")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, instance_path: Path, *, startup_seconds: float = 30.0):
    """Yield the base URL of ``loyalty serve --workers 1 --no-worker`` once it accepts connections; stop it after.

    No worker beside it: the tests that use it look at how gunicorn serves requests, not at webhooks' processing
    (``tests/test_serve.py`` runs ``serve`` with its worker).
    """
    with loyalty_serve(database_url, instance_path, "--no-worker", startup_seconds=startup_seconds) as (base, _):
        yield base


@contextmanager
def loyalty_serve(database_url: str, instance_path: Path, *args: str, env=None, startup_seconds: float = 30.0):
    """Yield ``(base URL, process)`` of ``loyalty serve --workers 1 *args`` once it accepts connections; stop it after.

    Stopped with SIGTERM, as a process manager stops it; killed if it outlasts 30 s. Its stderr is in
    ``process.stderr_path``.
    """
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOYALTY_INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "live-server-test",
        **(env or {}),
    }
    stderr_path = Path(instance_path) / f"serve-{port}.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [str(LOYALTY), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    process.stderr_path = stderr_path
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"loyalty serve did not start: {stderr_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def threaded(wsgi_app, host: str = "127.0.0.1"):
    """Yield the base URL of ``wsgi_app`` served by werkzeug in a thread, on a free port of ``host``.

    Two servers on other hosts or ports are two origins to a browser
    (``localhost`` and ``127.0.0.1`` too): what the widget tests need.
    """
    http = make_server(host, 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{http.server_port}"
    finally:
        http.shutdown()
        http.server_close()
