"""A non-editable wheel carries everything the platform needs at run time,
under the ``loyalty`` namespace only, and can build its database."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("loyalty_platform-*.whl")
    return built


def test_wheel_installs_only_under_the_loyalty_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"loyalty"}
    for needed in (
        "loyalty/migrations/alembic.ini",
        "loyalty/migrations/env.py",
        "loyalty/migrations/script.py.mako",
        "loyalty/migrations/versions/0001_ledger.py",
        "loyalty/migrations/versions/0002_earning.py",
        "loyalty/migrations/versions/0003_webhooks.py",
        "loyalty/plugins/earning/points_per_currency.py",
        "loyalty/plugins/storefronts/shopify.py",
        "loyalty/webhooks/intake.py",
        "loyalty/migrations/versions/0004_api.py",
        "loyalty/migrations/versions/0005_tiers.py",
        "loyalty/migrations/versions/0006_referrals.py",
        "loyalty/migrations/versions/0007_rewards.py",
        "loyalty/migrations/versions/0008_admin.py",
        "loyalty/migrations/versions/0009_rollups.py",
        "loyalty/admin/templates/admin/member.html",
        "loyalty/admin/static/admin.css",
        "loyalty/admin/static/admin.js",
        "loyalty/api/static/docs.js",
        "loyalty/plugins/tiers/points_earned.py",
        "loyalty/api/v1/members.py",
        "loyalty/api/schemas/members.py",
    ):
        assert needed in names


def test_installed_wheel_creates_its_database(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "LOYALTY_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env.pop("DATABASE_URL", None)
    script = "import sys, loyalty; from loyalty.console import main; print(loyalty.__file__, file=sys.stderr); main()"
    for args in (
        ["db", "upgrade"],
        ["programs", "create", "--slug", "w", "--name", "W", "--currency", "USD"],
        ["verify"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert str(target) in result.stderr  # the wheel's copy ran, not the checkout
    assert (tmp_path / "instance" / "loyalty.db").exists()
