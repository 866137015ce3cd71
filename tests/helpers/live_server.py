"""``loyalty serve`` (gunicorn) started by a test, on a free local port, on the test's database.

For what only a real server shows: how gunicorn hands the app a path
(``RAW_URI``, ``%2F`` decoded in ``PATH_INFO``), and clients that speak
HTTP rather than WSGI. The server runs on the real clock, in its own
process, so the test commits what it wants the server to see.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

LOYALTY = Path(sys.executable).with_name("loyalty")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, instance_path: Path, *, startup_seconds: float = 30.0):
    """Yield the base URL of ``loyalty serve --workers 1`` once it accepts connections; stop it after."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOYALTY_INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "live-server-test",
    }
    process = subprocess.Popen(
        [str(LOYALTY), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"loyalty serve did not start: {process.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
