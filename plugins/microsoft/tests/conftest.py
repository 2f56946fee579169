"""Fixtures for the Microsoft plugin's tests. The hub's own fixtures (``hub_app``,
``hub_client``, ``hub_context``, ``hub_clock``...) come with the hub's pytest plugin."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture
def recorded() -> Callable[[str], Any]:
    """``recorded("root_page1")``: a recorded answer of the provider, by file name."""

    def load(name: str) -> Any:
        return json.loads((RECORDED / f"{name}.json").read_text())

    return load


@pytest.fixture
def hub_plugins() -> list[str]:
    """The hub under test loads this plugin only (besides the built-ins)."""
    return ["microsoft=hub_microsoft"]


@pytest.fixture
def browse(hub_app: Any) -> Callable[..., Any]:
    """The ``files`` service's browse operation, as the provider declares it."""
    provider = hub_app.extensions["hub"].registry.provider("microsoft")
    return next(s for s in provider.services if s.name == "files").browse
