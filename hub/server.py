"""``hub serve``: the hub under gunicorn, the production WSGI server."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class HubServer(BaseApplication):
    """Gunicorn with the hub's own settings; every worker builds its own app."""

    def __init__(self, options: dict[str, Any], factory: Any) -> None:
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def serve(
    factory: Any, *, host: str, port: int, workers: int, threads: int, access_log: bool = True
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # Downloads and proxied calls may stream for long; the worker heartbeat is separate.
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        # Path without the query string: an OAuth callback's query holds a one-time code.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        "errorlog": "-",
        "proc_name": "hub",
        # One fixed control-socket path per user would collide between two hubs on a host.
        "control_socket_disable": True,
    }
    HubServer(options, factory).run()
