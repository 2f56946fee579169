"""Fixtures for the Infomaniak plugin's tests: the plugin loaded the way the hub loads it."""

from __future__ import annotations

import pytest

from hub.plugins import PluginRegistry
from hub.providers import Provider
from hub.testing import load_plugin, provider_of


@pytest.fixture
def registry() -> PluginRegistry:
    """A registry holding the built-ins and this plugin, loaded through its entry point."""
    return load_plugin("hub_infomaniak", name="infomaniak")


@pytest.fixture
def provider() -> Provider:
    """The validated ``infomaniak`` provider, as the registry holds it."""
    return provider_of("hub_infomaniak", "infomaniak")
