"""Every hook a plugin can implement. A plugin writes ``from hub import hookimpl``.

Hooks are called by name; an implementation may accept fewer arguments than its spec lists, so
specs can grow without breaking plugins. A plugin that defines a ``hub_*`` function not declared
here is refused at load time (a misspelled hook must fail loudly, not silently never run).
Plugins never touch the database or Flask: they receive plain values and return plain values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from hub.events import ConnectionEvent
    from hub.headers import HeaderVariable
    from hub.providers import Provider

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Registration: called once per plugin manager, when the app (or the CLI) starts
# ---------------------------------------------------------------------------------------------


@hookspec
def hub_register_providers() -> list[Provider]:
    """Declare the providers this plugin brings.

    Called once when the hub starts, for every plugin. Each declaration is validated
    (:func:`hub.providers.validate_provider`); an invalid one marks the whole plugin as failed,
    with the provider and field named, and the hub starts without it. Provider names are
    unique across plugins: the first plugin loaded keeps a name (built-ins load last).

    :return: a list of :class:`hub.providers.Provider`.
    """


@hookspec
def hub_register_header_variables() -> list[HeaderVariable]:
    """Add variables that integration header templates may use, as ``${name}``.

    Called once at start-up. Variable names are checked when an integration is saved, so a
    template naming a variable nobody declares is refused then, not at request time.

    :return: a list of :class:`hub.headers.HeaderVariable`; each resolves a value from the
        request's :class:`hub.headers.HeaderContext`.
    """


@hookspec
def hub_register_commands(cli: click.Group) -> None:
    """Add commands to the ``hub`` command line.

    Called once when the ``hub`` command starts, before it parses its arguments.

    :param cli: the top-level ``hub`` click group; call ``cli.add_command(...)`` or decorate
        with ``@cli.command()``.
    """


# ---------------------------------------------------------------------------------------------
# Connection lifecycle: called after the change is committed; return values are ignored
# ---------------------------------------------------------------------------------------------


@hookspec
def hub_connection_connected(event: ConnectionEvent) -> None:
    """A connection was established or re-established (OAuth callback or credentials set).

    :param event: who, which integration and provider, and the connected account.
    """


@hookspec
def hub_connection_refreshed(event: ConnectionEvent) -> None:
    """A connection's access token was refreshed.

    :param event: the connection after the refresh.
    """


@hookspec
def hub_connection_refresh_failed(event: ConnectionEvent) -> None:
    """A refresh failed; ``event.status`` is ``needs_reauth`` when the grant is gone.

    :param event: the connection, with ``error`` describing the failure (never a secret).
    """


@hookspec
def hub_connection_disconnected(event: ConnectionEvent) -> None:
    """A connection was removed by its user or an admin (after revocation was attempted).

    :param event: the status after removal (``not_connected``, no ``error``), with the
        holder and the account (``external_id``, ``email``) that was removed.
    """
