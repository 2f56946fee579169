"""Fixtures for the Dropbox plugin's tests: the recorded answers, this plugin loaded alone, and
Dropbox played by requests-mock (``dropbox_fakes.FakeDropbox``). The hub's own fixtures
(``hub_app``, ``hub_client``, ``hub_context``, ``hub_clock``...) come with the hub's pytest
plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.testing import import_beside

import_beside(__file__, "dropbox_fakes", "local_dropbox")


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
