"""The plugin registry: pluggy over the ``hub.plugins`` entry-point group.

Built-in plugins load through the same path as installed ones and are registered last-resort
(``trylast``), so an installed plugin wins. A plugin that cannot be imported, declares an invalid
provider, or defines a ``hub_*`` function that is not a hook is recorded as failed with its reason;
the hub starts without it.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from hub import hookspecs
from hub.headers import HeaderVariable
from hub.providers import Provider, ProviderDeclarationError, validate_provider

ENTRY_POINT_GROUP = "hub.plugins"
BUILTIN_PLUGINS = {"custom": "hub.builtin.custom", "core-headers": "hub.builtin.headers"}
CORE_DISTRIBUTION = "integration-hub"
#: The version of what plugins are written against: hooks, declarations, ``hub.context``,
#: ``hub.items``, ``hub.errors``, ``hub.testing``. A minor step only adds; a major step breaks.
#: A plugin states the range it supports as ``HUB_PLUGIN_API = ">=1.0,<2"`` in its module.
PLUGIN_API_VERSION = "1.0"

log = logging.getLogger(__name__)


@dataclass
class PluginInfo:
    """One row of ``hub plugins list``."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    status: str = "ok"  # ok | failed | disabled
    reason: str | None = None
    builtin: bool = False
    providers: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "reason": self.reason,
            "builtin": self.builtin,
            "providers": self.providers,
            "hooks": self.hooks,
        }


class HubPluginManager(pluggy.PluginManager):
    """Treats every ``hub_*`` callable of a plugin as a hook implementation, as pytest does."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("hub_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


class PluginLoadError(Exception):
    pass


class PluginRegistry:
    """Loads plugins, validates what they declare, and answers what is installed."""

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        trace: bool = False,
        entry_points: Iterable[metadata.EntryPoint] | None = None,
    ) -> None:
        self.manager = HubPluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.allow = set(allow)
        self.deny = set(deny)
        self.plugins: dict[str, PluginInfo] = {}
        self.providers: dict[str, Provider] = {}
        self.header_variables: dict[str, HeaderVariable] = {}
        self._tracing = False
        self._spec_names = {
            name
            for name in dir(hookspecs)
            if name.startswith("hub_") and callable(getattr(hookspecs, name))
        }
        if trace:
            self._enable_tracing()
        points = list(entry_points) if entry_points is not None else _discover()
        for point in points:
            self._load(
                point.name,
                point.load,
                _distribution(point),
                requires=getattr(getattr(point, "dist", None), "requires", None) or (),
            )
        for name, module in BUILTIN_PLUGINS.items():
            self._load(
                name,
                lambda module=module: importlib.import_module(module),
                (CORE_DISTRIBUTION, _version(CORE_DISTRIBUTION)),
                builtin=True,
            )
        self._collect_header_variables()

    @property
    def hook(self) -> Any:
        return self.manager.hook

    # -- loading --------------------------------------------------------------------------

    def _load(
        self,
        name: str,
        load: Any,
        distribution: tuple[str | None, str | None],
        *,
        requires: Iterable[str] = (),
        builtin: bool = False,
    ) -> None:
        dist_name, version = distribution
        info = PluginInfo(name, dist_name, version, module="?", builtin=builtin)
        if name in self.plugins:
            info.status, info.reason = "failed", f"another plugin is already named {name!r}"
            self.plugins[f"{name} ({dist_name})"] = info
            log.error("plugin %s from %s refused: %s", name, dist_name, info.reason)
            return
        self.plugins[name] = info
        if (self.allow and name not in self.allow) or name in self.deny:
            info.status, info.reason = "disabled", "excluded by HUB_PLUGINS_ALLOW/HUB_PLUGINS_DENY"
            return
        plugin = None
        try:
            # Checked before the import: a plugin built for another core may not even import.
            _check_core_requirement(requires)
            plugin = load()
            info.module = getattr(plugin, "__name__", type(plugin).__name__)
            _check_plugin_api(plugin)
            self._check_hook_names(plugin)
            self.manager.register(plugin, name=name)
            info.hooks = sorted(c.name for c in self.manager.get_hookcallers(plugin) or [])
            info.providers = self._register_providers(name, plugin)
        except Exception as exc:  # a plugin's fault must never stop the hub
            info.status, info.reason = "failed", _describe(exc)
            if plugin is not None and self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            log.error("plugin %s failed to load: %s", name, info.reason)

    def _check_hook_names(self, plugin: object) -> None:
        unknown = sorted(
            attr
            for attr in dir(plugin)
            if attr.startswith("hub_")
            and inspect.isroutine(getattr(plugin, attr, None))
            and attr not in self._spec_names
        )
        if unknown:
            raise PluginLoadError(
                f"unknown hook {', '.join(unknown)}: hooks are the hub_* names in hub.hookspecs"
            )

    def _register_providers(self, plugin_name: str, plugin: object) -> list[str]:
        function = getattr(plugin, "hub_register_providers", None)
        if function is None:
            return []
        declared = self._call_traced(plugin_name, "hub_register_providers", function) or []
        if not isinstance(declared, list | tuple):
            raise PluginLoadError("hub_register_providers must return a list of Provider")
        providers = []
        for declaration in declared:
            provider = validate_provider(declaration)
            owner = next(
                (p.name for p in self.plugins.values() if provider.name in p.providers), None
            )
            if owner is not None or provider.name in (p.name for p in providers):
                raise PluginLoadError(
                    f"provider {provider.name!r} is already declared by plugin {owner!r}"
                )
            providers.append(provider)
        for provider in providers:
            self.providers[provider.name] = provider
        return [p.name for p in providers]

    def _collect_header_variables(self) -> None:
        # Built-in variables first: a plugin may add names, never redefine the core's.
        impls = sorted(
            self.hook.hub_register_header_variables.get_hookimpls(),
            key=lambda impl: not self.plugins[impl.plugin_name].builtin,
        )
        for impl in impls:
            info = self.plugins[impl.plugin_name]
            try:
                variables = self._call_traced(
                    impl.plugin_name, "hub_register_header_variables", impl.function
                )
                for variable in variables or []:
                    if not isinstance(variable, HeaderVariable):
                        raise PluginLoadError(
                            "hub_register_header_variables must return a list of HeaderVariable"
                        )
                    if variable.name in self.header_variables:
                        log.warning(
                            "plugin %s: header variable %s is already defined; ignored",
                            impl.plugin_name,
                            variable.name,
                        )
                        continue
                    self.header_variables[variable.name] = variable
            except Exception as exc:
                info.status, info.reason = "failed", _describe(exc)
                self.manager.unregister(name=impl.plugin_name)
                for provider in info.providers:
                    self.providers.pop(provider, None)
                info.providers = []
                log.error("plugin %s failed to declare header variables: %s", info.name, exc)

    def _call_traced(self, plugin_name: str, hook_name: str, function: Any, **kwargs: Any) -> Any:
        if self._tracing:
            log.info("hook %s -> %s(%s)", plugin_name, hook_name, kwargs or "")
        result = function(**kwargs)
        if self._tracing:
            log.info("hook %s <- %s: %r", plugin_name, hook_name, result)
        return result

    def _enable_tracing(self) -> None:
        self._tracing = True
        writer = logging.getLogger("hub.plugins.trace")
        self.manager.trace.root.setwriter(lambda message: writer.info(message.rstrip()))
        self.manager.enable_tracing()

    # -- queries --------------------------------------------------------------------------

    def provider(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def listing(self) -> list[PluginInfo]:
        return sorted(self.plugins.values(), key=lambda p: (p.builtin, p.name))

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook on every plugin; a failing plugin is logged, not raised."""
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            try:
                accepted = {k: v for k, v in kwargs.items() if k in impl.argnames}
                self._call_traced(impl.plugin_name, hook_name, impl.function, **accepted)
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)


def _check_core_requirement(requires: Iterable[str]) -> None:
    """Refuse a distribution whose requirement on the core this core does not satisfy (pip
    checks it at install time, not when the core is upgraded or installed after the plugin)."""
    core = _version(CORE_DISTRIBUTION)
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue  # pip would not have installed it; nothing to say about the core
        if canonicalize_name(requirement.name) != canonicalize_name(CORE_DISTRIBUTION):
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        if core and not requirement.specifier.contains(core, prereleases=True):
            raise PluginLoadError(
                f"incompatible: needs {CORE_DISTRIBUTION}{requirement.specifier}, "
                f"this hub is {core}"
            )


def _check_plugin_api(plugin: object) -> None:
    """Refuse a plugin whose ``HUB_PLUGIN_API`` range leaves out :data:`PLUGIN_API_VERSION`."""
    declared = getattr(plugin, "HUB_PLUGIN_API", None)
    if declared is None:
        return
    try:
        supported = SpecifierSet(declared) if isinstance(declared, str) else None
    except InvalidSpecifier:
        supported = None
    if supported is None:
        raise PluginLoadError(
            f"HUB_PLUGIN_API {declared!r} is not a version range such as '>=1.0,<2'"
        )
    if not supported.contains(PLUGIN_API_VERSION, prereleases=True):
        raise PluginLoadError(
            f"incompatible: supports plugin API {supported}, this hub offers {PLUGIN_API_VERSION}"
        )


def _discover() -> list[metadata.EntryPoint]:
    # Read fresh on every call: what is installed may change between app instances (tests, pip).
    importlib.invalidate_caches()
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name)


def _distribution(point: metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(point, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ProviderDeclarationError | PluginLoadError):
        return str(exc)
    if isinstance(exc, pluggy.PluginValidationError):
        return f"invalid hook: {exc}"
    if isinstance(exc, ImportError):
        return f"cannot be imported: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"
