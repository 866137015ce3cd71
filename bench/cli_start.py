"""How long the ``loyalty`` command takes to start, against ``python -c "import flask, sqlalchemy"``.

Each command runs ``--runs`` times, every time in a fresh process (after
``--warmup`` rounds that are not counted, so the file cache is warm),
the commands taking turns round by round, and its median wall time is
compared with the baseline's, measured in the same rounds: the ratio is what issue 19 asks about (at most 2.5). The
commands run on a fresh SQLite database built from the migrations, with
a program ``demo`` of ``--members`` members, each awarded points.

    .venv/bin/python bench/cli_start.py [--runs 15] [--warmup 2] [--members 20]

Prints a Markdown table ready for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LOYALTY = str(BIN / "loyalty")

BASELINE = ('python -c "import flask, sqlalchemy"', [sys.executable, "-c", "import flask, sqlalchemy"])
COMMANDS = [
    ("loyalty --help", [LOYALTY, "--help"]),
    ("loyalty members list --program demo", [LOYALTY, "members", "list", "--program", "demo"]),
    ("loyalty members show --program demo m-1", [LOYALTY, "members", "show", "--program", "demo", "m-1"]),
    ("loyalty programs list", [LOYALTY, "programs", "list"]),
    ("loyalty inbox list", [LOYALTY, "inbox", "list"]),
    ("loyalty db current (Alembic: imported on purpose)", [LOYALTY, "db", "current"]),
]


def prepare(instance: Path, members: int) -> dict[str, str]:
    """A fresh SQLite database in ``instance``, upgraded by the migrations, with the program ``demo``."""
    env = {**os.environ, "LOYALTY_INSTANCE_PATH": str(instance), "SECRET_KEY": "bench"}
    env.pop("DATABASE_URL", None)
    os.environ.update(LOYALTY_INSTANCE_PATH=str(instance), SECRET_KEY="bench")
    os.environ.pop("DATABASE_URL", None)
    from loyalty.app import create_app

    runner = create_app().test_cli_runner()

    def run(*args: str) -> None:
        result = runner.invoke(args=list(args))
        if result.exit_code != 0:
            raise SystemExit(f"loyalty {' '.join(args)} failed: {result.output}")

    run("db", "upgrade")
    run("programs", "create", "--slug", "demo", "--name", "Demo", "--currency", "USD")
    for n in range(1, members + 1):
        run("members", "add", "--program", "demo", "--external-id", f"m-{n}", "--email", f"m{n}@example.com")
        run("points", "award", "--program", "demo", "--member", f"m-{n}", "--amount", str(10 * n), "--key", f"b-{n}")
    return env


def medians(commands: list[list[str]], env: dict[str, str], runs: int, warmup: int) -> list[float]:
    """Each command's median wall time; a round runs every command once, so a busier moment costs them all alike."""
    times: list[list[float]] = [[] for _ in commands]
    for round_ in range(warmup + runs):
        for command, kept in zip(commands, times):
            began = time.perf_counter()
            done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            took = time.perf_counter() - began
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
            if round_ >= warmup:
                kept.append(took)
    return [statistics.median(kept) for kept in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (each a fresh process)")
    parser.add_argument("--warmup", type=int, default=2, help="runs of each command before the timed ones")
    parser.add_argument("--members", type=int, default=20, help="members of the program the commands read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = prepare(Path(tmp), args.members)
        measured = [BASELINE, *COMMANDS]
        seconds = medians([command for _, command in measured], env, args.runs, args.warmup)
        rows = [(label, took) for (label, _), took in zip(measured, seconds)]
        baseline = rows[0][1]
    print(f"{args.runs} runs of each, after {args.warmup} warm-up rounds; SQLite, {args.members} members.\n")
    print("| command | median (s) | × baseline |")
    print("|---|---:|---:|")
    for label, seconds in rows:
        print(f"| `{label}` | {seconds:.3f} | {seconds / baseline:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
