"""Integration Hub: connect, share and browse the services your team uses.

Plugins start with ``from hub import hookimpl``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.hookspecs import hookimpl

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app", "hookimpl"]
__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the hub's Flask application (see :mod:`hub.app`)."""
    from hub.app import create_app as build

    return build(test_config)
