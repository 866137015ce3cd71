"""The plugin author's guide stays in step with the hooks and the example it shows."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from loyalty import hookspecs

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = [
    (name, function)
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, "loyalty_spec")
]


def test_there_are_hooks():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("name, function", HOOKS, ids=[name for name, _ in HOOKS])
def test_every_hook_is_documented_with_its_signature(name, function):
    parameters = ", ".join(inspect.signature(function).parameters)
    assert f"### {name}({parameters})" in GUIDE, f"docs/plugins.md lacks '### {name}({parameters})'"
    assert function.__doc__ and function.__doc__.strip(), f"{name} has no docstring"


def test_every_documented_hook_exists():
    documented = set(re.findall(r"^### (\w+)\(", GUIDE, re.MULTILINE))
    assert documented == {name for name, _ in HOOKS}


def test_the_guide_shows_the_example_plugin_as_it_is():
    source = (ROOT / "docs/examples/loyalty-spend-threshold/loyalty_spend_threshold/__init__.py").read_text()
    for block in re.findall(r"```python\n(.*?)```", GUIDE, re.DOTALL):
        if "class SpendThreshold(" in block:
            for line in block.strip().splitlines():
                assert line in source, f"docs/plugins.md shows a line the example does not have: {line!r}"
            return
    pytest.fail("docs/plugins.md does not show the example's code")


def test_the_guide_shows_the_example_channel_as_it_is():
    source = (ROOT / "docs/examples/loyalty-chat-room/loyalty_chat_room/__init__.py").read_text()
    for block in re.findall(r"```python\n(.*?)```", GUIDE, re.DOTALL):
        if "class ChatRoom(" in block:
            for line in block.strip().splitlines():
                assert line in source, f"docs/plugins.md shows a line the example does not have: {line!r}"
            return
    pytest.fail("docs/plugins.md does not show the example channel's code")


def _loyalty_imports(source: str) -> list[str]:
    return [
        line.strip()
        for line in source.splitlines()
        if line.strip().startswith(("from loyalty", "import loyalty"))
        and not line.strip().startswith(("from loyalty_", "import loyalty_"))
    ]


def test_the_guide_imports_only_the_plugin_api_and_the_kit():
    for block in re.findall(r"```python\n(.*?)```", GUIDE, re.DOTALL):
        for line in _loyalty_imports(block):
            assert line.startswith(("from loyalty.plugin_api import", "from loyalty.testing import")), line


def _example_sources() -> list:
    """The examples' own files: not what installing one leaves behind (``build/``, ``*.egg-info``)."""
    return sorted(
        path
        for path in (ROOT / "docs" / "examples").glob("*/**/*.py")
        if not {"build", "dist"} & set(path.parts) and not any(p.endswith(".egg-info") for p in path.parts)
    )


@pytest.mark.parametrize("path", _example_sources(), ids=lambda path: str(path.relative_to(ROOT / "docs" / "examples")))
def test_every_example_imports_only_the_plugin_api_and_the_kit(path):
    allowed = ("from loyalty.plugin_api import",) + (("from loyalty.testing import",) if "tests" in path.parts else ())
    for line in _loyalty_imports(path.read_text()):
        assert line.startswith(allowed), f"{path.name}: {line}"
