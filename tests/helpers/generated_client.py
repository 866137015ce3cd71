"""A Python client generated from one of the platform's OpenAPI documents by openapi-python-client, imported.

Tools nobody here wrote, used as a store's developer would: if the
document says something the answers do not do, the generated client
fails on it (a wrong nullability, a missing status).
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@contextmanager
def generated_client(document: dict, folder: Path, package: str):
    """Generate ``package`` from ``document`` in ``folder``; yield it imported; forget it afterwards."""
    path = folder / "openapi.json"
    path.write_text(json.dumps(document))
    config = folder / "config.json"
    # (formatting with ruff is not needed to import it)
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": package}))
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(path),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(folder / package),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[name]
        shutil.rmtree(folder / package, ignore_errors=True)
