"""Metrics for operators: ``GET /metrics`` in the Prometheus text format (docs/deploy.md).

What is counted:

* token refreshes by provider: attempts, successes, failures and reauths (``needs_reauth``),
  recorded by :func:`hub.tokens.ensure_fresh` through :func:`refresh_outcome`;
* proxied calls and downloads by provider and status class (``2xx`` ... ``5xx``), each with a
  latency histogram by provider, measured once per request by two request hooks;
* the background refresher's leadership and lag, set by the refresher through
  :func:`background_refresher`.

Labels are bounded on purpose: a provider's name (one of the installed plugins, or ``none`` when
the request failed before its integration was found) and a status class. Never an integration
id, a path, a user's name or a full status code.

Under ``hub serve`` (gunicorn, several worker processes) the metrics live in prometheus-client's
multiprocess mode: :func:`prepare_multiprocess_dir` gives each server start a fresh private
directory (``PROMETHEUS_MULTIPROC_DIR``) before any worker starts, gunicorn's ``child_exit`` hook
(:func:`child_exit`) marks a dead worker's live gauges gone, and ``/metrics`` adds up the files of
every worker. Without that variable (tests, ``flask run``) the default registry of this process
is used.

prometheus-client chooses the storage of every metric from the environment when it is imported
and when a metric is made, so this module imports it lazily and makes its metrics on first use:
``hub serve`` sets the variable first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, current_app, g, request

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROC_PREFIX = "metrics-"
#: The data-path endpoints measured, and the metric family each belongs to.
MEASURED_ENDPOINTS = {"api.proxy_request": "proxy", "api.download_item": "download"}
#: The provider label of a request that failed before its integration's provider was known.
NO_PROVIDER = "none"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
#: Seconds until the hub has the provider's answer (its headers; a streamed body is not waited for).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class HubMetrics:
    """Every metric the hub exports (made once per process by :func:`hub_metrics`)."""

    refresh_attempts: Counter
    refresh_successes: Counter
    refresh_failures: Counter
    refresh_reauths: Counter
    requests: dict[str, Counter]  # "proxy" / "download" -> by provider and status class
    latency: dict[str, Histogram]  # "proxy" / "download" -> by provider
    refresher_leader: Gauge
    refresher_lag: Gauge


_metrics: HubMetrics | None = None
_lock = threading.Lock()


def hub_metrics() -> HubMetrics:
    """This process's metrics, made on first use (in the storage the environment asks for)."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _make()
    return _metrics


def _make() -> HubMetrics:
    from prometheus_client import Counter, Gauge, Histogram

    def refresh_counter(what: str, documentation: str) -> Counter:
        return Counter(f"hub_token_refresh_{what}", documentation, ["provider"])

    def requests(kind: str, documentation: str) -> Counter:
        return Counter(f"hub_{kind}_requests", documentation, ["provider", "status_class"])

    def latency(kind: str, documentation: str) -> Histogram:
        return Histogram(
            f"hub_{kind}_request_duration_seconds",
            documentation,
            ["provider"],
            buckets=LATENCY_BUCKETS,
        )

    return HubMetrics(
        refresh_attempts=refresh_counter(
            "attempts", "OAuth token refreshes tried (a grant asked of the provider)"
        ),
        refresh_successes=refresh_counter("successes", "Token refreshes that stored a new token"),
        refresh_failures=refresh_counter(
            "failures", "Token refreshes the provider failed (retried later with back-off)"
        ),
        refresh_reauths=refresh_counter(
            "reauths", "Token refreshes that found the grant gone: the connection needs_reauth"
        ),
        requests={
            "proxy": requests("proxy", "Proxied calls answered, by status class"),
            "download": requests("download", "Downloads answered, by status class"),
        },
        latency={
            "proxy": latency("proxy", "Seconds until a proxied call's answer started"),
            "download": latency("download", "Seconds until a download's answer started"),
        },
        refresher_leader=Gauge(
            "hub_background_refresher_leader",
            "1 while a worker of this server is the deployment's background refresher",
            multiprocess_mode="livesum",
        ),
        refresher_lag=Gauge(
            "hub_background_refresher_lag_seconds",
            "Seconds by which the most overdue due connection is late (0: none is)",
            multiprocess_mode="livemax",
        ),
    )


# -- what the rest of the hub calls ---------------------------------------------------------------


def refresh_outcome(provider: str, outcome: BaseException | None) -> None:
    """Count one refresh attempt for ``provider`` and how it ended: ``outcome`` is ``None``
    when it succeeded, a :class:`~hub.errors.ReauthRequired` when the grant is gone, any other
    exception when the provider failed."""
    from hub.errors import ReauthRequired

    metrics = hub_metrics()
    metrics.refresh_attempts.labels(provider).inc()
    if outcome is None:
        metrics.refresh_successes.labels(provider).inc()
    elif isinstance(outcome, ReauthRequired):
        metrics.refresh_reauths.labels(provider).inc()
    else:
        metrics.refresh_failures.labels(provider).inc()


def note_provider(provider: str) -> None:
    """Name the provider of the current data-path request (its ``provider`` label)."""
    g.metrics_provider = provider


def background_refresher(*, leader: bool, lag_seconds: float = 0.0) -> None:
    """For the background refresher, after each of its rounds (and when it gains or loses the
    leadership): whether this process leads, and by how many seconds the most overdue due
    connection is late (``0`` when none is; ignored, and set to ``0``, when not leading).

    Exported as ``hub_background_refresher_leader`` (summed over the live workers of a server:
    ``1`` on the server whose worker leads, ``0`` elsewhere) and
    ``hub_background_refresher_lag_seconds`` (the largest of its live workers)."""
    metrics = hub_metrics()
    metrics.refresher_leader.set(1 if leader else 0)
    metrics.refresher_lag.set(max(0.0, float(lag_seconds)) if leader else 0.0)


def status_class(status: int) -> str:
    return STATUS_CLASSES.get(status // 100, "other")


# -- the request hooks and the route --------------------------------------------------------------


def _start() -> None:
    if request.endpoint in MEASURED_ENDPOINTS:
        g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    kind = MEASURED_ENDPOINTS.get(request.endpoint or "")
    if kind is None:
        return response
    metrics = hub_metrics()
    provider = g.get("metrics_provider") or NO_PROVIDER
    metrics.requests[kind].labels(provider, status_class(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        metrics.latency[kind].labels(provider).observe(time.perf_counter() - started)
    return response


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type: every worker's metrics in multiprocess
    mode, this process's otherwise."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    hub_metrics()
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, folder)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _admin_token() -> bool:
    """Whether the request carries an administrator's API token."""
    from hub.auth import optional_current

    user = optional_current()
    return user is not None and user.is_superuser and g.get("auth_method") == "token"


def init_app(app: Flask) -> None:
    """Measure the data path, and serve ``GET /metrics``: to anyone when ``HUB_METRICS`` is on
    (keep it off the public internet at the reverse proxy), otherwise only to a request with an
    administrator's API token; anyone else gets 404, as if there were no such page."""
    # First, so that the time includes the other hooks (authentication, CSRF).
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_observe)

    @app.get("/metrics")
    def metrics() -> Response:
        if not (current_app.config["METRICS"] or _admin_token()):
            abort(404)
        text, content_type = exposition()
        response = Response(text, content_type=content_type)
        response.headers["Cache-Control"] = "no-store"
        return response


# -- multiprocess mode under gunicorn -------------------------------------------------------------


def prepare_multiprocess_dir(root: str | Path) -> Path:
    """Make this server's fresh, private metrics directory under ``root`` (the instance
    folder), ``metrics-<pid of the gunicorn master>``, and point ``PROMETHEUS_MULTIPROC_DIR``
    at it (the workers inherit it). Call before any worker starts. Directories left by servers
    that are no longer running are removed; those of running ones are left alone."""
    root = Path(root)
    for old in root.glob(f"{MULTIPROC_PREFIX}*"):
        pid = old.name.removeprefix(MULTIPROC_PREFIX)
        if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    folder = root / f"{MULTIPROC_PREFIX}{os.getpid()}"
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    if "prometheus_client.values" in sys.modules:  # imported before the variable was set
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    return folder


def remove_multiprocess_dir(folder: Path) -> None:
    """Remove this server's metrics directory; only in the process that made it (a gunicorn
    worker leaves ``hub serve`` through the same code when it exits)."""
    if folder.name != f"{MULTIPROC_PREFIX}{os.getpid()}":
        return
    shutil.rmtree(folder, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == str(folder):
        del os.environ[MULTIPROC_ENV]


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook (in the master): a dead worker's live gauges no longer
    count (its counters and histograms keep counting: they are totals)."""
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(worker.pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
