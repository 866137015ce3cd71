"""Running the ``loyalty`` command in tests, as a store owner would type it."""

from __future__ import annotations


def ok(runner, *args) -> str:
    """Run ``loyalty ARGS...``; it must succeed. Its output."""
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def fails(runner, *args) -> str:
    """Run ``loyalty ARGS...``; it must fail. Its output (the error message)."""
    result = runner.invoke(args=list(args))
    assert result.exit_code != 0, result.output
    return result.output
