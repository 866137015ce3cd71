"""What ``loyalty serve`` runs by default: gunicorn and one ``loyalty worker``, each a child process it watches.

Webhooks are then queued: the store gets its 202 as soon as a delivery is
stored, and the worker posts them in set-based batches (and sends the
outbox's messages). The worker is restarted when it exits unexpectedly,
after 1 s doubling to 30 s (back to 1 s once it has run a minute), so a
crash loop does not spin; the server's exit ends ``serve`` with its
code. SIGTERM or Ctrl-C stops both children and waits for them: none is
left behind. On Linux a child is also sent SIGTERM if ``serve`` dies
without stopping it (a SIGKILL, a crash: ``PR_SET_PDEATHSIG``).

Two children rather than a thread beside gunicorn's arbiter: the arbiter
owns the process's signals and reaps every child it sees exit, and it
forks its workers, which a thread must not live through.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("loyalty.serve")

#: The ``loyalty`` command, for the children (``python -m loyalty``: the same interpreter, wherever the script is).
LOYALTY = (sys.executable, "-m", "loyalty")

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
#: A worker that ran this long before exiting was not crash-looping: its next restart waits the first backoff again.
STEADY_SECONDS = 60.0
#: prctl(2)'s option: the signal a child gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: How long a child gets to finish after SIGTERM (gunicorn's own graceful timeout) before it is killed.
STOP_SECONDS = 30.0


class Supervisor:
    """Runs ``server`` and keeps ``worker`` running beside it, until a signal or the server's exit."""

    def __init__(self, server: list[str], worker: list[str], env: dict[str, str], *, poll: float = 0.2):
        self.server_command, self.worker_command, self.env, self.poll = server, worker, env, poll
        self.stop = threading.Event()

    def run(self) -> int:
        handlers = {signum: signal.signal(signum, self._stopping) for signum in (signal.SIGTERM, signal.SIGINT)}
        server = worker = None
        code = 0
        try:
            server = _spawn(self.server_command, self.env)
            worker, started = self._start_worker(), time.monotonic()
            backoff, restart_at = FIRST_BACKOFF, None
            while not self.stop.wait(self.poll):
                if server.poll() is not None:
                    code = server.returncode
                    log.error("the server exited (code %s): stopping the worker", code)
                    break
                if worker is not None and worker.poll() is not None:
                    ran = time.monotonic() - started
                    backoff = FIRST_BACKOFF if ran >= STEADY_SECONDS else backoff
                    log.warning(
                        "the worker exited (code %s) after %.0f s: restarting in %g s", worker.returncode, ran, backoff
                    )
                    worker, restart_at = None, time.monotonic() + backoff
                    backoff = min(backoff * 2, MAX_BACKOFF)
                if worker is None and restart_at is not None and time.monotonic() >= restart_at:
                    worker, started, restart_at = self._start_worker(), time.monotonic(), None
        finally:
            _stop([child for child in (worker, server) if child is not None])
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        return code

    def _start_worker(self) -> subprocess.Popen:
        process = _spawn(self.worker_command, self.env)
        log.info("started the worker (pid %s): webhooks are queued and posted in batches", process.pid)
        return process

    def _stopping(self, *_) -> None:
        self.stop.set()


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def _die_with_parent() -> None:
    """In the child, before it runs: SIGTERM when ``serve`` dies, however it dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not glibc/musl: SIGTERM and Ctrl-C still stop the children
        pass


def _stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to every child still running, then wait for each (killed if it outlasts :data:`STOP_SECONDS`)."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in running:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
