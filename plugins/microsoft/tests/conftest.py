"""Fixtures for the Microsoft plugin's tests. The hub's own fixtures (``hub_app``,
``hub_client``, ``hub_context``, ``hub_clock``...) come with the hub's pytest plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.testing import import_beside

import_beside(__file__, "recorded_graph", "local_graph")

from recorded_graph import recorded as load  # noqa: E402


@pytest.fixture
def recorded() -> Callable[[str], Any]:
    """``recorded("root_page1")``: a recorded answer of Graph, by file name."""
    return load


@pytest.fixture
def hub_plugins() -> list[str]:
    """The hub under test loads this plugin only (besides the built-ins)."""
    return ["microsoft=hub_microsoft"]
