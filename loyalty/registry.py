"""The plugin manager, and the typed facade the core calls plugins through.

Built-in plugins (the ``loyalty.plugins`` package, from ``plugins/``) are
registered exactly like third-party ones: ``pm.register(module)``. Third
parties are found through the ``loyalty`` entry-point group. Configuration
can add more (``PLUGINS``: module paths or objects; tests use it) or skip
third parties (``SAFE_MODE``). ``TRACE_HOOKS`` prints every hook call.

At start, each registration hook is called once per plugin, and every
type registered is checked; a plugin that fails to import, implements a
hook that does not exist, or registers a malformed or duplicate type stops
the start with a :class:`PluginError` that names it.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from loyalty import __version__, hookspecs

ENTRY_POINT_GROUP = "loyalty"

BUILTIN_PLUGINS = (
    "loyalty.plugins.earning.points_per_currency",
    "loyalty.plugins.earning.product_multiplier",
    "loyalty.plugins.earning.first_order_bonus",
    "loyalty.plugins.earning.signup_bonus",
    "loyalty.plugins.earning.birthday_bonus",
    "loyalty.plugins.earning.campaign_multiplier",
    "loyalty.plugins.earning.custom_event",
    "loyalty.plugins.tiers.points_earned",
    "loyalty.plugins.tiers.orders",
    "loyalty.plugins.storefronts.shopify",
    "loyalty.plugins.storefronts.woocommerce",
    "loyalty.plugins.storefronts.stripe_payments",
    "loyalty.plugins.storefronts.standard_webhooks",
    "loyalty.plugins.referral_checks.self_referral",
    "loyalty.plugins.referral_checks.existing_customer",
    "loyalty.plugins.referral_checks.minimum_order",
    "loyalty.plugins.referral_checks.velocity",
    "loyalty.plugins.rewards.codes",
    "loyalty.plugins.rewards.stripe_promotion",
    "loyalty.plugins.channels.webhook",
    "loyalty.plugins.channels.email",
)


def _contracts():
    # What a registered type must have, per registration hook. Imported when plugins load (with marshmallow,
    # for the config schemas), not for every command (loyalty.registry.init_app).
    from loyalty.plugin_contracts import CONTRACTS

    return CONTRACTS


class PluginError(Exception):
    """A plugin could not be loaded or registered something malformed."""


@dataclass
class PluginInfo:
    name: str
    version: str | None
    builtin: bool
    hooks: list[str]
    contributes: dict[str, list[str]] = field(default_factory=dict)


class Registry:
    """The plugins of one application and the types they contribute.

    Core code calls plugins only through this class.
    """

    def __init__(self, pm: pluggy.PluginManager, versions: dict[str, str | None], trace: bool = False):
        self.pm = pm
        self._trace = trace
        self._versions = versions
        self.types: dict[str, dict[str, object]] = {kind: {} for kind in _contracts()}
        self._owner: dict[tuple[str, str], str] = {}

    # --- the types ---------------------------------------------------------

    @property
    def earning_rule_types(self) -> dict:
        return self.types["earning_rule_types"]

    @property
    def tier_schemes(self) -> dict:
        return self.types["tier_schemes"]

    @property
    def reward_types(self) -> dict:
        return self.types["reward_types"]

    @property
    def storefronts(self) -> dict:
        return self.types["storefronts"]

    @property
    def referral_checks(self) -> dict:
        return self.types["referral_checks"]

    @property
    def notification_channels(self) -> dict:
        return self.types["notification_channels"]

    def owner(self, kind: str, name: str) -> str:
        """The plugin that registered a type."""
        return self._owner[(kind, name)]

    # --- notifications -----------------------------------------------------

    def member_enrolled(self, *, program, member) -> None:
        self.pm.hook.member_enrolled(program=program, member=member)

    def points_posted(self, *, program, member, posting, cause) -> None:
        self.pm.hook.points_posted(program=program, member=member, posting=posting, cause=cause)

    def tier_changed(self, *, program, member, old_tier, new_tier, reason) -> None:
        self.pm.hook.tier_changed(program=program, member=member, old_tier=old_tier, new_tier=new_tier, reason=reason)

    def reward_redeemed(self, *, program, member, redemption) -> None:
        self.pm.hook.reward_redeemed(program=program, member=member, redemption=redemption)

    def referral_converted(self, *, program, referral) -> None:
        self.pm.hook.referral_converted(program=program, referral=referral)

    # --- what is installed -------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
            contributes: dict[str, list[str]] = {}
            for (kind, type_name), owner in self._owner.items():
                if owner == name:
                    contributes.setdefault(kind, []).append(type_name)
            infos.append(PluginInfo(name, self._versions.get(name), name in BUILTIN_PLUGINS, hooks, contributes))
        return infos

    # --- start -------------------------------------------------------------

    def collect(self) -> None:
        """Call every registration hook, plugin by plugin, checking what each registers."""
        for kind in _contracts():
            caller = getattr(self.pm.hook, f"register_{kind}")
            for impl in caller.get_hookimpls():
                if self._trace:  # called one by one below, so pluggy's tracer does not see them
                    sys.stderr.write(f"register_{kind} [{impl.plugin_name}]\n")
                try:
                    impl.function(register=self._registrar(kind, impl.plugin_name))
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} failed in register_{kind}: {type(exc).__name__}: {exc}"
                    ) from exc

    def _registrar(self, kind: str, plugin_name: str):
        from loyalty.plugin_contracts import problems

        def register(item) -> None:
            found = problems(kind, item)
            if found:
                raise PluginError(f"plugin {plugin_name!r}: {'; '.join(found)}")
            name = item.name
            if (kind, name) in self._owner:
                raise PluginError(
                    f"{kind[:-1].replace('_', ' ')} {name!r} is registered by both "
                    f"{self._owner[(kind, name)]!r} and {plugin_name!r}"
                )
            self.types[kind][name] = item
            self._owner[(kind, name)] = plugin_name

        return register


def build_registry(*, extra=(), safe_mode: bool = False, trace: bool = False) -> Registry:
    """Load the built-ins, the installed plugins and ``extra``; collect their types."""
    pm = pluggy.PluginManager("loyalty")
    pm.add_hookspecs(hookspecs)
    versions: dict[str, str | None] = {}
    for module_name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
        versions[module_name] = __version__
    if not safe_mode:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            dist = ep.dist.name if ep.dist else "?"
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} (package {dist}) failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            versions[ep.name] = ep.dist.version if ep.dist else None
    for item in extra:
        name = item if isinstance(item, str) else getattr(item, "__name__", None) or type(item).__name__
        try:
            plugin = importlib.import_module(item) if isinstance(item, str) else item
            if pm.is_registered(plugin):  # already found through its entry point
                continue
            pm.register(plugin, name=name)
        except Exception as exc:
            raise PluginError(f"plugin {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
        versions.setdefault(name, None)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) if hasattr(exc, "plugin") else "?"
        raise PluginError(f"plugin {plugin_name!r}: {exc}") from exc
    if trace:
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    registry = Registry(pm, versions, trace)
    registry.collect()
    return registry


def init_app(app, *, lazy: bool = False) -> None:
    """Load the app's plugins now, or (``lazy``) when something first asks for them.

    A server loads them at start, so that a broken plugin stops it before
    it answers anything. A command loads them lazily: ``loyalty members
    list`` needs no plugin, and importing the built-ins (their services,
    marshmallow for their config schemas) was a tenth of its start.
    """
    if not lazy:
        app_registry(app)


def app_registry(app) -> Registry:
    """The app's registry, built on first use."""
    registry = app.extensions.get("loyalty.registry")
    if registry is None:
        registry = app.extensions["loyalty.registry"] = build_registry(
            extra=app.config.get("PLUGINS", ()),
            safe_mode=bool(app.config.get("SAFE_MODE")),
            trace=bool(app.config.get("TRACE_HOOKS")),
        )
    return registry


def current_registry() -> Registry:
    from flask import current_app

    return app_registry(current_app)
