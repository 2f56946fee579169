"""Fixtures for the Dropbox plugin's tests: the recorded answers, this plugin loaded alone, and
Dropbox played by requests-mock (``dropbox_fakes.FakeDropbox``). The hub's own fixtures
(``hub_app``, ``hub_client``, ``hub_context``, ``hub_clock``...) come with the hub's pytest
plugin."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _load_helper(name: str) -> None:
    """Make ``tests/<name>.py`` importable by its name: the hub's test run uses pytest's
    importlib mode, where a plugin's test folder is not on ``sys.path``."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


_load_helper("dropbox_fakes")
_load_helper("local_dropbox")

from dropbox_fakes import FakeDropbox, load  # noqa: E402


@pytest.fixture
def recorded() -> Callable[[str], Any]:
    """``recorded("root_page1")``: a recorded answer of Dropbox, by file name."""
    return load


@pytest.fixture
def hub_plugins() -> list[str]:
    """The hub under test loads this plugin only (besides the built-ins)."""
    return ["dropbox=hub_dropbox"]


@pytest.fixture
def dropbox(requests_mock: Any) -> FakeDropbox:
    """Dropbox answering the recorded tree."""
    return FakeDropbox(requests_mock)
