"""The hub's proxy against a bare Flask passthrough, with wrk, several runs each (``make bench``).

Both run under gunicorn with the hub's defaults (2 workers x 4 gthread threads; the hub with its
own worker class, the passthrough with gunicorn's) in front of an nginx answering
``{"ok":true}``. For each: added latency at p50 on one keep-alive connection (over nginx
alone), then requests/s and p50 on 8 keep-alive connections, ``--runs`` times, and which share
of the connections each worker process held (``ss``) — the spread that decides a run. Writes the
section "Proxy against a bare passthrough" of docs/benchmarks.md (replacing an earlier one).

Needs Debian's ``wrk`` and ``nginx``: ``apt-get install wrk nginx-light``.
Run: ``python bench/passthrough.py [--runs 4] [--seconds 5] [--no-docs]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
DOCS = ROOT / "docs" / "benchmarks.md"
HEADING = "## Proxy against a bare passthrough"
HOST = "127.0.0.1"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Processes:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.work / f"{name}.log").open("wb")
        self.started.append(
            subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def stop(self) -> None:
        for process in self.started:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


def wait_ready(port: int, path: str, headers: dict[str, str] | None = None) -> None:
    import http.client

    for _ in range(600):
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", path, headers=headers or {})
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def hub_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "hub"), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"hub {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def post_json(port: int, path: str, body: dict[str, Any], token: str) -> Any:
    import http.client

    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return json.loads(connection.getresponse().read())


def spread(port: int) -> tuple[int, ...]:
    """Established connections to ``port`` per process holding them, most first."""
    listed = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts = collections.Counter(re.findall(r"pid=(\d+)", listed))
    return tuple(sorted(counts.values(), reverse=True))


def wrk(url: str, headers: list[str], connections: int, seconds: float) -> dict[str, float]:
    args = [
        "wrk",
        "-t",
        str(min(2, connections)),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
    ]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, "--latency", url], capture_output=True, text=True).stdout
    found = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (found and rps):
        raise SystemExit(f"wrk answered nothing readable for {url}:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rps.group(1)),
        "p50": float(found.group(1)) * scale,
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def loaded(url: str, headers: list[str], port: int, seconds: float) -> dict[str, Any]:
    """A run on 8 connections, with the spread of connections over the workers in the middle."""
    seen: list[tuple[int, ...]] = []
    done = threading.Event()

    def sample() -> None:
        if not done.wait(min(1.0, seconds / 2)):
            seen.append(spread(port))

    sampler = threading.Thread(target=sample)
    sampler.start()
    result: dict[str, Any] = wrk(url, headers, 8, seconds)
    done.set()
    sampler.join()
    result["spread"] = seen[0] if seen else ()
    return result


def run(runs: int, seconds: float) -> dict[str, Any]:
    for tool in ("wrk", "nginx", "ss"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed: apt-get install wrk nginx-light iproute2")
    work = Path(tempfile.mkdtemp(prefix="hub-passthrough-"))
    processes = Processes(work)
    nginx_port, hub_port, bare_port = free_port(), free_port(), free_port()
    try:
        conf = work / "nginx.conf"
        conf.write_text(
            f"worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; server {{ listen {HOST}:{nginx_port}; "
            "keepalive_requests 1000000; location / { default_type application/json; "
            "return 200 '{\"ok\":true}'; } } }\n"
        )
        processes.start("nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf)], {})
        wait_ready(nginx_port, "/v1/ping")

        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(
            HUB_INSTANCE_PATH=str(work / "instance"),
            HUB_ALLOW_PRIVATE_ADDRESSES="1",
            HUB_PUBLIC_URL=f"http://{HOST}:{hub_port}",
        )
        hub_cli(env, "init", "--no-admin")
        password = secrets.token_urlsafe(18)
        hub_cli(env, "users", "create", "bench", "--admin", "--password-stdin", stdin=password)
        token = hub_cli(env, "tokens", "create", "bench").strip().splitlines()[-1]
        processes.start(
            "hub", [str(BIN / "hub"), "serve", "--host", HOST, "--port", str(hub_port)], env
        )
        wait_ready(hub_port, "/healthz")
        ref = post_json(
            hub_port,
            "/api/integrations",
            {
                "name": "Passthrough",
                "authType": "bearer",
                "apiBaseUri": f"http://{HOST}:{nginx_port}",
            },
            token,
        )["id"]
        post_json(hub_port, f"/api/integrations/{ref}/connection", {"token": "upstream"}, token)

        bare_env = {**env, "UPSTREAM": f"http://{HOST}:{nginx_port}", "PYTHONPATH": str(BENCH)}
        processes.start(
            "bare",
            [str(BIN / "gunicorn"), "-w", "2", "--threads", "4", "-k", "gthread",
             "-b", f"{HOST}:{bare_port}", "bare_passthrough:app"],
            bare_env,
        )  # fmt: skip
        wait_ready(bare_port, "/v1/ping")

        auth = [f"Authorization: Bearer {token}"]
        targets = {
            "nginx": (f"http://{HOST}:{nginx_port}/v1/ping", [], nginx_port),
            "bare": (f"http://{HOST}:{bare_port}/v1/ping", [], bare_port),
            "hub": (
                f"http://{HOST}:{hub_port}/api/integrations/{ref}/proxy/v1/ping",
                auth,
                hub_port,
            ),
        }
        for url, headers, _ in targets.values():
            wrk(url, headers, 8, 1.0)  # warm every worker
        single = {
            name: [wrk(url, headers, 1, seconds)["p50"] for _ in range(runs)]
            for name, (url, headers, _) in targets.items()
        }
        series: dict[str, list[dict[str, Any]]] = {"bare": [], "hub": []}
        for _ in range(runs):  # alternated, so a change of the machine's load hits both
            for name in series:
                url, headers, port = targets[name]
                series[name].append(loaded(url, headers, port, seconds))
        return {"single": single, "series": series, "runs": runs, "seconds": seconds}
    finally:
        processes.stop()
        shutil.rmtree(work, ignore_errors=True)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(results: dict[str, Any]) -> str:
    single, series = results["single"], results["series"]
    nginx = median(single["nginx"])
    added = {name: [v - nginx for v in single[name]] for name in ("bare", "hub")}
    added_ratio = median(added["hub"]) / median(added["bare"])
    rps = {name: [r["rps"] for r in series[name]] for name in series}
    ratios = [h / b for h, b in zip(rps["hub"], rps["bare"], strict=True)]
    # Against the passthrough's best run: a run of gunicorn's own worker with its connections
    # piled into one process is slow for reasons of its own, and flatters the hub beside it.
    best = [h / max(rps["bare"]) for h in rps["hub"]]
    p50s = {name: " / ".join(f"{r['p50']:.2f}" for r in series[name]) for name in series}
    spreads = {
        name: " / ".join("+".join(map(str, r["spread"])) for r in series[name]) for name in series
    }
    lines = [
        HEADING,
        "",
        f"bench/passthrough.py, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, this machine: wrk "
        f'against an nginx answering `{{"ok":true}}`, {results["runs"]} runs of '
        f"{results['seconds']:g} s each, alternating; both under gunicorn with 2 workers x 4 "
        "threads (the hub: its balanced gthread worker; the passthrough: gunicorn's).",
        "",
        "| | hub | bare passthrough | hub / bare | target |",
        "|---|---|---|---|---|",
        f"| added latency at p50, 1 connection (ms; median, min-max) | "
        f"{median(added['hub']):+.2f} ({min(added['hub']):+.2f} to {max(added['hub']):+.2f}) | "
        f"{median(added['bare']):+.2f} ({min(added['bare']):+.2f} to {max(added['bare']):+.2f}) | "
        f"{added_ratio:.2f} | <= 1.10 |",
        f"| req/s at 8 connections, each run | {' / '.join(f'{v:,.0f}' for v in rps['hub'])} | "
        f"{' / '.join(f'{v:,.0f}' for v in rps['bare'])} | "
        f"{min(ratios):.2f} to {max(ratios):.2f} (against the passthrough's best run: "
        f"{min(best):.2f} to {max(best):.2f}) | >= 0.90 in every run |",
        f"| p50 at 8 connections (ms), each run | {p50s['hub']} | {p50s['bare']} | | |",
        f"| connections per worker, each run | {spreads['hub']} | {spreads['bare']} | | |",
        "",
        "A kept-alive connection stays with the worker that accepted it. With gunicorn's gthread "
        "worker, whichever worker wakes first accepts, so a run often starts with most or all "
        "of the connections in one process. That process then runs them one thread at a time "
        "under its GIL, and the run's throughput follows the spread. The hub's worker "
        "(hub/balanced_worker.py) accepts only while no live worker holds fewer connections.",
        "",
        "What is left of the difference is work the passthrough does not do. Per proxied call the "
        "hub looks up the API token, the integration with the caller's level and the caller's "
        "connection (three SQL statements on a pooled database connection), decrypts the "
        "credential, runs its request hooks (CSRF, token scopes, metrics, the sandbox headers) "
        "and writes an access-log line; the passthrough's `requests` call costs more than the "
        "hub's urllib3 call, which pays for part of it. The section \"Where a proxied GET "
        'spends, inside a request" above times each stage.',
        "",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    start = text.find(HEADING)
    if start != -1:
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + (text[end + 1 :] if end != -1 else "")
    DOCS.write_text(text.rstrip("\n") + "\n\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-docs", action="store_true", help="print, do not write the docs")
    options = parser.parse_args()
    section = report(run(options.runs, options.seconds))
    print(section)
    if not options.no_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
