"""``hub serve``: the hub under gunicorn, the production WSGI server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from hub import leader, metrics, refresher, webhook_sender

# Path without the query string: an OAuth callback's query holds a one-time code.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


class HubLogger(Logger):
    """gunicorn's logger, but an access-log line gets only the fields ``ACCESS_LOG_FORMAT``
    names (any other field prints as ``-``). gunicorn's own builds a dictionary of every
    request header, response header and environ variable for every request (about half of
    the line's cost), and a header is never one of the fields, so no credential can reach it.
    """

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "t": self.now(),
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "s": status,
            "b": "-" if sent is None else str(sent),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }


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


def start_background(worker: Any) -> None:
    """gunicorn's ``post_worker_init``: start the worker's background threads (the refresher and
    the webhook sender; each leads only when it holds its duty's lock)."""
    refresher.start_in_worker(worker)
    webhook_sender.start_in_worker(worker)


def serve(
    factory: Any,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool = True,
    metrics_root: str | Path | None = None,
) -> None:
    """Run gunicorn until it stops. With ``metrics_root`` (the instance folder), the workers
    keep their metrics in a fresh directory under it that ``/metrics`` adds up (removed when the
    server stops; see :mod:`hub.metrics`)."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        # gthread, accepting a new connection only in the least loaded worker (the module says why).
        "worker_class": "hub.balanced_worker.BalancedThreadWorker",
        # Downloads and proxied calls may stream for long; the worker heartbeat is separate.
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": HubLogger,
        "errorlog": "-",
        "proc_name": "hub",
        # One fixed control-socket path per user would collide between two hubs on a host.
        "control_socket_disable": True,
        "post_worker_init": start_background,
        "worker_exit": leader.stop_in_worker,
        "child_exit": metrics.child_exit,
    }
    folder = metrics.prepare_multiprocess_dir(metrics_root) if metrics_root is not None else None
    try:
        HubServer(options, factory).run()
    finally:
        if folder is not None:
            metrics.remove_multiprocess_dir(folder)
