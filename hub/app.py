"""The application factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hub import api, auth, clients, config, db, ids, metrics, scopes, web
from hub.addresses import with_deployment_endpoints
from hub.crypto import KeyRing, MissingKeyError
from hub.models import encrypted_columns
from hub.plugins import PluginRegistry


@dataclass
class HubState:
    """What the hub keeps in ``app.extensions["hub"]``."""

    registry: PluginRegistry
    keyring: KeyRing
    key_file: Path | None = None  # where the ring is re-read from, when not from the env
    openapi: dict[str, Any] | None = None  # built on first request, then kept

    def reload_keyring(self, kid: str) -> KeyRing:
        """The ring, re-read from the key file when ``kid`` is missing (added by a rotation
        in another process); raises :class:`MissingKeyError` if it is still missing."""
        if kid not in self.keyring and self.key_file is not None:
            self.keyring = KeyRing.from_text(self.key_file.read_text())
        if kid not in self.keyring:
            raise MissingKeyError(kid)
        return self.keyring


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a hub: settings, instance files, plugins, database, and routes."""
    instance = (test_config or {}).get("INSTANCE_PATH") or config.default_instance_path()
    app = Flask(
        "hub",
        instance_path=str(Path(instance).resolve()),
        instance_relative_config=True,
        static_folder=None,  # the web blueprint serves /static
    )
    config.load(app, test_config)
    config.prepare_instance(app)
    _quiet_secret_loggers()
    keyring = config.keyring_from_config(app)
    registry = build_registry(app.config)
    clients.check_configured_origins(app.config, registry.providers.values())
    source = app.config["ENCRYPTION_KEYS_SOURCE"]
    key_file = None if source == "HUB_ENCRYPTION_KEYS" else Path(source)
    app.extensions["hub"] = HubState(registry=registry, keyring=keyring, key_file=key_file)
    db.init_app(app)
    check_keys_present(keyring)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    ids.init_app(app)  # before the routes: they use its `id` converter
    auth.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    web.init_app(app)
    scopes.check_routes(app)
    return app


def build_registry(settings: Any) -> PluginRegistry:
    """The plugins the settings allow, with the operator's endpoint overrides applied to their
    providers (``HUB_<PROVIDER>_ENDPOINTS``); ``ValueError`` names a bad override."""
    registry = PluginRegistry(
        allow=config.as_list(settings.get("PLUGINS_ALLOW")),
        deny=config.as_list(settings.get("PLUGINS_DENY")),
        trace=config.as_bool(settings.get("TRACE_PLUGINS")),
    )
    for name, provider in list(registry.providers.items()):
        registry.providers[name] = with_deployment_endpoints(provider, settings)
    return registry


def check_keys_present(keyring: KeyRing) -> None:
    """Refuse to start when a stored secret was written with a key that is not in the ring."""
    with db.database.connection_context():
        for model, field in encrypted_columns():
            if not model.table_exists():
                continue
            kid = peewee.fn.SUBSTR(field, 1, 8)
            query = model.select(kid.alias("kid")).where(field.is_null(False)).distinct()
            for row in query.dicts():
                if row["kid"] not in keyring:
                    where = f"{model._meta.table_name}.{field.name}"
                    raise MissingKeyError(row["kid"], where)


def _quiet_secret_loggers() -> None:
    # oauthlib and requests-oauthlib log tokens and secrets at DEBUG, and urllib3 every request
    # line, query string included (a GET token request's client secret): never let them.
    for name in ("oauthlib", "requests_oauthlib", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
