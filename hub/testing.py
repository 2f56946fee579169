"""Helpers for testing plugins: load a plugin the way the hub does, and check what it declares.

A plugin's ``tests/conftest.py`` typically starts with::

    from hub.testing import load_plugin

    @pytest.fixture
    def registry():
        return load_plugin("hub_example", name="example")
"""

from __future__ import annotations

import re
from importlib import metadata

from hub.plugins import ENTRY_POINT_GROUP, PluginRegistry
from hub.providers import Icon, Provider, validate_provider

_UNSAFE_SVG = re.compile(
    rb"<script|<foreignObject|\bon[a-z]+\s*=|javascript:|<!ENTITY|xlink:href\s*=\s*[\"'](?!#)"
    rb"|href\s*=\s*[\"'](?!#)",
    re.IGNORECASE,
)


def load_plugin(module: str, name: str | None = None) -> PluginRegistry:
    """A registry holding the built-ins and the plugin ``module``, loaded through an entry point
    exactly as an installed plugin is. Fails the test if the plugin does not load cleanly."""
    entry_name = name or module.removeprefix("hub_")
    point = metadata.EntryPoint(name=entry_name, value=module, group=ENTRY_POINT_GROUP)
    registry = PluginRegistry(entry_points=[point])
    info = registry.plugins[entry_name]
    assert info.status == "ok", f"plugin {entry_name} did not load: {info.reason}"
    return registry


def provider_of(module: str, provider: str, name: str | None = None) -> Provider:
    """The validated provider ``provider`` declared by plugin ``module``."""
    declared = load_plugin(module, name).provider(provider)
    assert declared is not None, f"plugin {module} declares no provider {provider!r}"
    return validate_provider(declared)


def assert_safe_icon(icon: Icon | None) -> None:
    """An icon the hub can serve: a known image type, and an SVG with nothing active in it."""
    assert icon is not None, "the provider has no icon"
    assert icon.data, "the icon is empty"
    if icon.media_type == "image/svg+xml":
        assert icon.data.lstrip().startswith((b"<svg", b"<?xml")), "not an SVG document"
        match = _UNSAFE_SVG.search(icon.data)
        assert match is None, f"the SVG holds active or external content: {match.group()!r}"
