"""The plugin manager: built-ins, entry points, broken plugins, and the example plugin installed for real."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from loyalty.plugin_api import Award, EarningRuleType, hookimpl
from loyalty.registry import BUILTIN_PLUGINS, PluginError, build_registry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "loyalty-spend-threshold"
#: The other worked examples, one per plugin kind: folder, entry point, registration kind, type name, their tests.
EXAMPLES = [
    ("loyalty-tinyshop", "tinyshop", "storefronts", "tinyshop", 5),
    ("loyalty-largest-order", "largest_order", "tier_schemes", "largest_order", 3),
    ("loyalty-donation", "donation", "reward_types", "donation", 4),
    ("loyalty-blocked-domains", "blocked_domains", "referral_checks", "blocked_domains", 3),
    ("loyalty-chat-room", "chat_room", "notification_channels", "chat_room", 4),
]

BUILTIN_RULE_TYPES = {
    "points_per_currency",
    "product_multiplier",
    "first_order_bonus",
    "signup_bonus",
    "birthday_bonus",
    "campaign_multiplier",
    "custom_event",
}


def test_builtins_are_plugins_like_any_other():
    registry = build_registry(safe_mode=True)
    assert set(registry.earning_rule_types) == BUILTIN_RULE_TYPES
    for name in BUILTIN_RULE_TYPES:
        assert registry.owner("earning_rule_types", name) in BUILTIN_PLUGINS
    names = {info.name for info in registry.plugins()}
    assert set(BUILTIN_PLUGINS) <= names


class Good:
    class Rule(EarningRuleType):
        name = "always_one"
        title = "Always one"

        def evaluate(self, context, config):
            return [Award(1, "one")]

    @hookimpl
    def register_earning_rule_types(self, register):
        register(self.Rule())


def test_an_extra_plugin_contributes_a_type():
    registry = build_registry(extra=[Good()], safe_mode=True)
    assert registry.owner("earning_rule_types", "always_one") == "Good"


class Typo:
    @hookimpl
    def register_earning_rule_typez(self, register):  # no such hook
        pass


class Incomplete:
    @hookimpl
    def register_earning_rule_types(self, register):
        register(type("Half", (), {"name": "half", "title": "Half"})())


class Clash:
    @hookimpl
    def register_earning_rule_types(self, register):
        rule = Good.Rule()
        rule.name = "points_per_currency"
        register(rule)


class Crashing:
    @hookimpl
    def register_earning_rule_types(self, register):
        raise RuntimeError("boom")


class BadName:
    @hookimpl
    def register_earning_rule_types(self, register):
        rule = Good.Rule()
        rule.name = "Has Spaces"
        register(rule)


@pytest.mark.parametrize(
    "plugin, message",
    [
        (Typo(), "'Typo'"),
        (Incomplete(), "'Incomplete': registered an earning rule type without schema, events, evaluate"),
        (Clash(), "registered by both 'loyalty.plugins.earning.points_per_currency' and 'Clash'"),
        (Crashing(), "'Crashing' failed in register_earning_rule_types: RuntimeError: boom"),
        (BadName(), "'Has Spaces' must be lower_snake_case"),
        ("no_such_module_anywhere", "'no_such_module_anywhere' failed to load: ModuleNotFoundError"),
    ],
)
def test_broken_plugins_are_named_at_start(plugin, message):
    with pytest.raises(PluginError) as caught:
        build_registry(extra=[plugin], safe_mode=True)
    assert message in str(caught.value)


def _plugin(hook: str, item):
    """A third-party plugin module as docs/plugins.md shows it: one registration hook registering ``item``."""
    module = types.ModuleType(f"broken_{hook}")

    def register_types(register):
        register(item)

    register_types.__name__ = f"register_{hook}"
    setattr(module, f"register_{hook}", hookimpl(register_types))
    return module


def _broken_types():
    """One type per kind that breaks the documented contract, and what the start must say about it."""
    from marshmallow import Schema

    from loyalty.referrals import ReferralCheck
    from loyalty.rewards import RewardType
    from loyalty.storefronts.adapters import StorefrontAdapter
    from loyalty.tiers.schemes import TierScheme

    def make(base, **attrs):
        return type("Broken", (base,), {"name": "broken", "title": "Broken", **attrs})()

    evaluate = {"evaluate": lambda self, context, config: []}
    values = {"qualifying_values": lambda self, program, settings, now, member_ids=None: None}
    issue = {"issue": lambda self, redemption, config: None}
    adapter = {m: (lambda self, request, *a: None) for m in ("verify", "delivery_id", "topic", "parse")}
    return [
        ("earning_rule_types", make(EarningRuleType), "broken does not implement evaluate"),
        (
            "earning_rule_types",
            make(EarningRuleType, events=("order_payed",), **evaluate),
            "broken.events has 'order_payed'",
        ),
        ("earning_rule_types", make(EarningRuleType, events="order_paid", **evaluate), "broken.events must be"),
        (
            "earning_rule_types",
            make(EarningRuleType, schema=Schema, **evaluate),
            "broken.schema must subclass loyalty.earning.rule_types.RuleConfigSchema",
        ),
        ("tier_schemes", make(TierScheme), "broken does not implement qualifying_values"),
        (
            "tier_schemes",
            make(TierScheme, metric="visits", **values),
            "broken.metric is 'visits': it must be one of points, amount, orders",
        ),
        ("reward_types", make(RewardType), "broken does not implement issue"),
        ("reward_types", make(RewardType, variable="yes", **issue), "broken.variable must be True or False"),
        ("reward_types", make(RewardType, schema=dict, **issue), "broken.schema must be a marshmallow Schema class"),
        ("storefronts", make(StorefrontAdapter), "broken does not implement verify"),
        (
            "storefronts",
            make(StorefrontAdapter, stored_headers=("X-Topic",), **adapter),
            "broken.stored_headers must be a tuple of lower-case header names",
        ),
        ("referral_checks", make(ReferralCheck), "broken does not implement check"),
        ("referral_checks", make(ReferralCheck, check="no", default_action="block"), "broken.check must be a method"),
        ("referral_checks", make(ReferralCheck, title="", check=lambda self, r, s: None), "broken.title must be"),
    ]


@pytest.mark.parametrize("hook, item, message", _broken_types(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_type_that_breaks_its_contract_stops_the_start_naming_the_plugin(hook, item, message, tmp_path):
    """Each used to load and fail only on first use (NotImplementedError at the first redemption, ...)."""
    from loyalty.app import create_app

    with pytest.raises(PluginError) as caught:
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                "PLUGINS": [_plugin(hook, item)],
                "SAFE_MODE": True,
            }
        )
    assert f"plugin 'broken_{hook}'" in str(caught.value)
    assert message in str(caught.value)


def test_every_builtin_type_keeps_its_contract():
    from loyalty.plugin_contracts import problems

    registry = build_registry(safe_mode=True)
    for kind, found in registry.types.items():
        for name, item in found.items():
            assert problems(kind, item) == [], (kind, name)


def test_tracing_prints_hook_calls(capsys):
    build_registry(safe_mode=True, trace=True)
    assert "register_earning_rule_types" in capsys.readouterr().err


def _fake_dist(site: Path, name: str, module_source: str) -> None:
    """An installed distribution, as pip leaves it: a module and a dist-info with an entry point."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[loyalty]\n{name} = {name}\n")


def _cli(args, extra_path: Path, **env):
    return subprocess.run(
        [sys.executable, "-c", "from loyalty.console import main; main()", *args],
        env={**os.environ, "PYTHONPATH": str(extra_path), "LOYALTY_INSTANCE_PATH": str(extra_path / "instance"), **env},
        capture_output=True,
        text=True,
        cwd=extra_path,
    )


def test_a_broken_installed_plugin_stops_the_start_with_its_name(tmp_path):
    _fake_dist(tmp_path, "broken_loyalty_plugin", "raise ImportError('needs libfoo')\n")
    result = _cli(["plugins"], tmp_path)
    assert result.returncode == 2
    assert "plugin 'broken_loyalty_plugin' (package broken_loyalty_plugin) failed to load" in result.stderr
    assert "needs libfoo" in result.stderr and "Traceback" not in result.stderr
    safe = _cli(["plugins"], tmp_path, LOYALTY_SAFE_MODE="1")
    assert safe.returncode == 0, safe.stderr
    assert "broken_loyalty_plugin" not in safe.stdout


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    """Every example plugin, pip-installed into one folder by one pip run (real dist-infos with their entry points)."""
    site = tmp_path_factory.mktemp("site")
    examples = [EXAMPLE, *(ROOT / "docs" / "examples" / folder for folder, *_ in EXAMPLES)]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *map(str, examples)],
        check=True,
    )
    assert list(site.glob("loyalty_spend_threshold-1.0.0.dist-info"))
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    for module in ["loyalty_spend_threshold", *(folder.replace("-", "_") for folder, *_ in EXAMPLES)]:
        sys.modules.pop(module, None)


def test_the_example_plugin_is_found_through_its_entry_point(installed_example):
    registry = build_registry()
    assert registry.owner("earning_rule_types", "spend_threshold") == "spend_threshold"
    (info,) = [p for p in registry.plugins() if p.name == "spend_threshold"]
    assert info.version == "1.0.0" and not info.builtin
    listed = _cli(["plugins"], installed_example)
    assert "spend_threshold (version 1.0.0)" in listed.stdout
    assert "earning rule types: spend_threshold" in listed.stdout


def test_the_example_plugin_awards_points_end_to_end(installed_example, tmp_path):
    """Installed, configured through the CLI, fed an order: the plugin's points land in the ledger."""
    import json

    env_path = installed_example
    steps = [
        ["db", "upgrade"],
        ["programs", "create", "--slug", "acme", "--name", "Acme", "--currency", "USD"],
        [
            "rules",
            "add",
            "--program",
            "acme",
            "--type",
            "spend_threshold",
            "--name",
            "Big basket",
            "--config",
            json.dumps({"steps": [{"spend": "100", "points": 50}]}),
        ],
    ]
    for args in steps:
        result = _cli(args, env_path)
        assert result.returncode == 0, result.stderr
    order = tmp_path / "order.json"
    order.write_text(
        json.dumps(
            {
                "type": "order_paid",
                "order_id": "1001",
                "currency": "USD",
                "subtotal": "120.00",
                "total": "120.00",
                "customer": {"external_id": "c-1", "email": "ann@example.com"},
            }
        )
    )
    pushed = _cli(["events", "push", "--program", "acme", "--file", str(order)], env_path)
    assert pushed.returncode == 0, pushed.stderr
    assert "order_paid: processed (member c-1), +50 points" in pushed.stdout
    assert "Available 50" in _cli(["members", "show", "--program", "acme", "c-1"], env_path).stdout
    assert _cli(["verify"], env_path).returncode == 0


def test_the_example_plugins_own_tests_pass_with_the_shipped_fixtures(installed_example):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        env={**os.environ, "PYTHONPATH": str(installed_example)},
        capture_output=True,
        text=True,
        cwd=installed_example,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


@pytest.mark.parametrize("folder, entry_point, kind, type_name, _", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_each_example_is_found_through_its_entry_point(installed_example, folder, entry_point, kind, type_name, _):
    registry = build_registry()
    assert registry.owner(kind, type_name) == entry_point
    (info,) = [p for p in registry.plugins() if p.name == entry_point]
    assert info.version == "1.0.0" and not info.builtin


def test_the_examples_own_tests_pass_with_the_shipped_fixtures(installed_example):
    """One pytest run over the examples' tests, each written with the kit alone."""
    folders = [str(ROOT / "docs" / "examples" / folder / "tests") for folder, *_ in EXAMPLES]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *folders],
        env={**os.environ, "PYTHONPATH": str(installed_example)},
        capture_output=True,
        text=True,
        cwd=installed_example,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{sum(count for *_, count in EXAMPLES)} passed" in result.stdout


def test_the_built_in_plugins_import_only_the_plugin_api():
    """A plugin imports the public plugin API and never another plugin (nor the core's modules)."""
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for line in path.read_text().splitlines():
            if line.startswith(("from loyalty", "import loyalty")):
                assert line.startswith("from loyalty.plugin_api import"), f"{path.relative_to(ROOT)}: {line}"
