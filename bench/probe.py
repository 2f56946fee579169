"""Per-request database work of the hub's data path, counted in process (run by bench/run.py).

Builds the hub app from the environment bench/run.py prepared (``HUB_INSTANCE_PATH``, the
bench plugin on ``PYTHONPATH``, the upstream running), then sends requests through Flask's test
client with the bench API token and counts, per request, the SQL statements peewee logs, the
writes among them, and the database connections opened. Also times taking a database connection
from the pool and giving it back, which the hub does around every request.

Then times the steps of a proxied GET one by one (token lookup, integration lookup with the
caller's level, the provider context with the caller's connection, what peewee would spend
compiling one of those queries if the hub did not keep its SQL, the upstream call), and those of
a 1000-item folder page (the plugin's browse, ``page_json``, Flask's ``jsonify``). Last, where a
proxied GET spends *inside a request* (:func:`stages`): every request hook, the session cookie,
the view's lookups and the upstream call timed where they run, which costs each more than alone.

Prints one JSON line. ``--profile`` prints the top of a cProfile of proxied GETs first.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import io
import json
import logging
import os
import pstats
import time
from collections.abc import Callable
from typing import Any

from flask import jsonify

from hub import access, accounts, addresses, browse, context, integrations, proxy
from hub.api.connect import provider_of
from hub.app import create_app
from hub.models import Integration, Principal


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # peewee logs each statement as (sql, params); other lines (the pool's) are not SQL.
        if isinstance(record.msg, tuple):
            self.statements.append(record.msg[0])


def breakdown(
    app: Any, ref: str, headers: dict[str, str], counter: Counter, count: int
) -> dict[str, Any]:
    """The steps of a proxied GET and of a 1000-item page, each timed alone inside one request
    context: ms and SQL statements per call."""
    token = headers["Authorization"].split(" ", 1)[1]
    parts: dict[str, Any] = {}
    with app.test_request_context("/", headers=headers):
        app.preprocess_request()  # the hub's before_request: opens the database connection
        user = accounts.user_for_token(token)[0]
        integration, _ = access.find(user, ref)
        provider = provider_of(integration)
        kept = browse.context_for(provider, integration, user)
        connection = kept.connection
        base = addresses.api_base_uri(provider, integration)

        def compile_lookup() -> None:
            # An integration lookup as peewee builds it, compiled to SQL but not run: what the
            # hub's prepared statements (hub.db.Prepared) no longer pay per request.
            Integration.select(Integration, Principal).join(
                Principal, on=(Integration.owner == Principal.id)
            ).where(Integration.id == int(ref)).sql()

        def upstream_get() -> None:
            response = kept.request("GET", base + "/v1/ping", stream=True)
            response.content  # noqa: B018 (read it, so the connection goes back to the pool)
            response.close()

        files = browse.service_of(provider, "files", "browse")
        page = browse.browse(kept, files, None, None, 1000)
        body = browse.page_json(page)

        steps = {
            "user_for_token (API token -> user)": lambda: accounts.user_for_token(token),
            "access.find (integration + the caller's level)": lambda: access.find(user, ref),
            "browse.context_for (the caller's connection, settings, endpoints)": lambda: (
                browse.context_for(provider, integration, user)
            ),
            "peewee compiling an integration query, not run (saved by hub.db.Prepared)": (
                compile_lookup
            ),
            "expanded_headers (header templates)": lambda: integrations.expanded_headers(
                integration, user, connection
            ),
            "credentials (decrypt the stored token)": lambda: kept._credentials({}, None),
            "upstream GET through the provider context (urllib3, pinned pools)": upstream_get,
            "items, limit 1000: plugin browse (upstream GET, JSON, 1000 Items)": lambda: (
                browse.browse(kept, files, None, None, 1000)
            ),
            "items, limit 1000: page_json (Items to dicts)": lambda: browse.page_json(page),
            "items, limit 1000: jsonify (Flask JSON answer)": lambda: jsonify(body),
            "items, limit 1000: json.dumps alone (for comparison)": lambda: json.dumps(body),
        }
        for name, step in steps.items():
            for _ in range(5):
                step()
            counter.statements.clear()
            started = time.perf_counter()
            for _ in range(count):
                step()
            elapsed = time.perf_counter() - started
            parts[name] = {
                "ms": elapsed / count * 1000,
                "statements": len(counter.statements) / count,
                "sample": sorted({sql.split(" WHERE ")[0][-80:] for sql in counter.statements}),
            }
    return parts


def stages(app: Any, get: Callable[[], None], count: int) -> dict[str, float]:
    """Microseconds per proxied GET spent in each stage, timed where it runs in ``count``
    requests: the request hooks, the session cookie, the view's lookups, the upstream call, and
    the rest (Flask's request context and routing, the test client's WSGI call). A step timed
    alone (:func:`breakdown`) runs with warm caches; inside a request it shares them with
    everything else the request does, and costs more."""
    spent: collections.Counter[str] = collections.Counter()

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        return run

    hooks = {
        "before": app.before_request_funcs.setdefault(None, []),
        "after": app.after_request_funcs.setdefault(None, []),
        "teardown": app.teardown_appcontext_funcs,
    }
    kept_hooks = {kind: list(functions) for kind, functions in hooks.items()}
    for kind, functions in hooks.items():
        functions[:] = [timed(f"{kind}: {f.__module__}.{f.__qualname__}", f) for f in functions]
    patched = [
        (app.session_interface, "open_session", "session cookie: open"),
        (app.session_interface, "save_session", "session cookie: save"),
        (accounts, "user_for_token", "  of which the token lookup (accounts.user_for_token)"),
        (access, "find", "view: access.find (integration + the caller's level)"),
        (browse, "context_for", "view: browse.context_for (the caller's connection)"),
        (proxy, "forward", "view: proxy.forward"),
        (context, "send", "  of which the upstream call (hub.transport.send)"),
    ]
    kept = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, label in patched:
        setattr(owner, name, timed(label, getattr(owner, name)))
    wsgi_app = app.wsgi_app
    app.wsgi_app = timed("total", wsgi_app)
    try:
        for _ in range(20):
            get()
        spent.clear()
        for _ in range(count):
            get()
    finally:
        app.wsgi_app = wsgi_app
        for owner, name, original in kept:
            setattr(owner, name, original)
        for kind, functions in hooks.items():
            functions[:] = kept_hooks[kind]
    micros = {label: seconds / count * 1e6 for label, seconds in spent.items()}
    parents = {
        "  of which the token lookup (accounts.user_for_token)": "before: hub.auth."
        "_check_token_scopes",
        "  of which the upstream call (hub.transport.send)": "view: proxy.forward",
    }
    result: dict[str, float] = {}
    for label, value in micros.items():
        if label not in parents and label != "total":
            result[label] = value
            result.update({child: micros[child] for child, p in parents.items() if p == label})
    result["the rest: Flask's request context and routing, the view's other work"] = micros[
        "total"
    ] - sum(value for label, value in result.items() if label not in parents)
    result["total, inside the app (wsgi_app)"] = micros["total"]
    return result


def bare_flask_ms(count: int) -> float:
    """The floor of any Flask request, for comparison with the hub's: a bare Flask app
    answering a constant, through the same test client (ms per request)."""
    from flask import Flask

    bare = Flask("bare")
    bare.add_url_rule(
        "/ping", "ping", lambda: ('{"ok":true}', 200, {"Content-Type": "application/json"})
    )
    client = bare.test_client()
    for _ in range(20):
        client.get("/ping").close()
    started = time.perf_counter()
    for _ in range(count):
        response = client.get("/ping")
        response.get_data()
        response.close()
    return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--integration", required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    app = create_app()
    engine = app.extensions["hub.database"]
    opened = [0]
    original_connect = engine.connect

    def counting_connect(*a: Any, **kw: Any) -> Any:
        result = original_connect(*a, **kw)
        if result:
            opened[0] += 1
        return result

    engine.connect = counting_connect
    counter = Counter()
    log = logging.getLogger("peewee")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(counter)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {os.environ['BENCH_API_TOKEN']}"}
    base = f"/api/integrations/{args.integration}"
    paths = {
        "proxy": f"{base}/proxy/v1/ping",
        "items": f"{base}/services/files/items?limit=100",
        "download": f"{base}/services/files/items/1024/download",
        "healthz": "/healthz",
    }

    def get(path: str) -> None:
        response = client.get(path, headers=headers)
        response.get_data()
        status = response.status_code
        response.close()
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {response.get_data()[:300]!r}")

    results: dict[str, Any] = {}
    for key, path in paths.items():
        for _ in range(10):
            get(path)  # warm-up (and the token's once-a-minute last-used write)
        counter.statements.clear()
        opened[0] = 0
        started = time.perf_counter()
        for _ in range(args.requests):
            get(path)
        elapsed = time.perf_counter() - started
        writes = [
            s
            for s in counter.statements
            if s.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE", "BEGIN"}
        ]
        results[key] = {
            "statements": len(counter.statements) / args.requests,
            "writes": len(writes) / args.requests,
            "connects": opened[0] / args.requests,
            "ms": elapsed / args.requests * 1000,
            "sample": sorted({s.split(" WHERE ")[0][:120] for s in counter.statements}),
        }

    results["bare_flask_ms"] = bare_flask_ms(args.requests * 5)
    results["components"] = breakdown(app, args.integration, headers, counter, args.requests * 2)
    results["stages_requests"] = args.requests * 5
    results["stages"] = stages(app, lambda: get(paths["proxy"]), results["stages_requests"])

    log.removeHandler(counter)
    engine.connect = original_connect
    if not engine.is_closed():
        engine.close()
    count = 1000
    started = time.perf_counter()
    for _ in range(count):
        engine.connect()
        engine.close()
    connect_close_ms = (time.perf_counter() - started) / count * 1000

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests * 3):
            get(paths["proxy"])
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
        stats.print_stats(45)
        print(text.getvalue())
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(text.getvalue())

    print(json.dumps({"requests": results, "connect_close_ms": connect_close_ms}))


if __name__ == "__main__":
    main()
