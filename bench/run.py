"""``make bench``: the hub as it runs in production, measured against a local upstream.

One run, everything on 127.0.0.1, every process cleaned up at the end:

1. a temporary instance (``hub init --no-admin``, a ``bench`` administrator and API token);
2. bench/upstream.py under gunicorn (gthread) and ``hub serve`` with the worker and thread
   defaults that ``make run`` uses; the ``benchfiles`` provider (bench/plugin) is installed into
   a temporary directory on the hub's ``PYTHONPATH`` only, never into the project's environment;
3. a bearer integration of ``benchfiles`` pointing at the upstream, connected with a token;
4. side by side, straight to the upstream and through the hub: GET latency and requests per
   second (proxy), a 1 GiB download (items route and proxy) with the hub workers' RSS, and
   paging through a folder of 10,000 items;
5. bench/probe.py, in-process, counts the SQL statements and database connections per request;
6. a table on the terminal and docs/benchmarks.md.

Options: ``--quick`` (a smoke run: small sizes, no docs unless ``--docs`` is given too),
``--no-docs``, ``--docs PATH``, ``--profile`` (print a cProfile of proxied GETs, in process).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOCS = ROOT / "docs" / "benchmarks.md"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
MIB = 1024 * 1024
GIB = 1024 * MIB
MB = 1_000_000
FOLDER_SIZE = 10_000
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# Targets from the issue.
TARGET_P50_ADDED_MS = 2.0
TARGET_THROUGHPUT_RATIO = 0.70
TARGET_RSS_GROWTH_MB = 30.0
TARGET_RELAY_RATIO = 0.9  # a download through the hub against the bare relay's


@dataclass
class Settings:
    latency_requests: int = 2000
    latency_rounds: int = 4  # direct and hub alternate in this many blocks
    warmup_requests: int = 200
    rps_threads: int = 8
    rps_seconds: float = 10.0
    download_bytes: int = GIB
    download_runs: int = 5
    page_limits: tuple[int, ...] = (100, 1000)
    page_passes: int = 3
    rss_interval: float = 0.05
    profile: bool = False  # print a cProfile of proxied GETs in process (bench/probe.py)

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            latency_requests=200,
            latency_rounds=2,
            warmup_requests=20,
            rps_seconds=2.0,
            download_bytes=64 * MIB,
            download_runs=1,
            page_passes=1,
        )


# -- processes ---------------------------------------------------------------------------------


class Processes:
    """Every server the bench starts, each in its own process group, stopped in ``stop_all``."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        try:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers are stopped with it
            )
        finally:
            log.close()
        self.started.append((name, process))
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            # Workers left behind by a master that died: the group is still addressable.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self.started.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # rest[k - 3] is field k of proc(5)


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            rest = proc_stat(int(entry.name))
            if rest is not None and int(rest[1]) == parent:
                pids.append(int(entry.name))
    return sorted(pids)


def group_of(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            rest = proc_stat(int(entry.name))
            if rest is not None and int(rest[2]) == pgid:
                pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of the processes, in seconds."""
    total = 0
    for pid in pids:
        rest = proc_stat(pid)
        if rest is not None:
            total += int(rest[11]) + int(rest[12])
    return total / TICK


def rss_bytes(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


# -- HTTP --------------------------------------------------------------------------------------


class Connection(http.client.HTTPConnection):
    """``http.client`` with a count of the TCP connections it opened (keep-alive check)."""

    def __init__(self, port: int, timeout: float = 120) -> None:
        super().__init__(HOST, port, timeout=timeout)
        self.opened = 0

    def connect(self) -> None:
        super().connect()
        self.opened += 1
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self.request("GET", path, headers=headers)
        response = self.getresponse()
        return response.status, response.read()


@dataclass
class Target:
    """Where a request goes: the upstream itself or through the hub, with the right token."""

    name: str
    port: int
    headers: dict[str, str]

    def get_json(self, path: str) -> Any:
        connection = Connection(self.port)
        try:
            status, body = connection.fetch(path, self.headers)
        finally:
            connection.close()
        if status != 200:
            raise RuntimeError(f"{self.name} GET {path}: {status} {body[:300]!r}")
        return json.loads(body)


def call(
    port: int, method: str, path: str, headers: dict[str, str], payload: Any = None
) -> tuple[int, Any]:
    connection = Connection(port)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        send = dict(headers)
        if body is not None:
            send["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=send)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, (json.loads(data) if data else None)


def wait_ready(
    processes: Processes, name: str, process: subprocess.Popen[bytes], port: int, path: str
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{processes.log_tail(name)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = Connection(port, timeout=2)
            try:
                status, _ = connection.fetch(path, {})
            finally:
                connection.close()
            if status < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer on port {port}:\n{processes.log_tail(name)}")


# -- statistics --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


# -- 1. proxy latency and requests per second ----------------------------------------------------


def sequential(
    target: Target, path: str, count: int, fresh: bool = False
) -> tuple[list[float], int]:
    """``count`` GETs one after another on one keep-alive connection (or a new one each time);
    latencies in ms and the number of TCP connections opened."""
    connection = Connection(target.port)
    latencies = []
    try:
        for _ in range(count):
            if fresh:
                connection.close()
            started = time.perf_counter_ns()
            status, body = connection.fetch(path, target.headers)
            latencies.append((time.perf_counter_ns() - started) / 1e6)
            if status != 200:
                raise RuntimeError(f"{target.name} GET {path}: {status} {body[:300]!r}")
    finally:
        connection.close()
    return latencies, connection.opened


def concurrent(
    target: Target,
    path: str,
    threads: int,
    seconds: float,
    cpu_pids: dict[str, list[int]],
    workers: list[int] | None = None,
) -> dict[str, Any]:
    """``threads`` clients, each on its own keep-alive connection, for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    opened = [0] * threads
    start = threading.Barrier(threads + 1)
    limit = int(seconds * 20_000)  # a bound per thread far above what one core can do
    deadline = [0.0]

    def client(index: int) -> None:
        connection = Connection(target.port)
        try:
            start.wait()
            for _ in range(limit):
                if time.perf_counter() >= deadline[0]:
                    break
                began = time.perf_counter_ns()
                try:
                    status, _ = connection.fetch(path, target.headers)
                except (OSError, http.client.HTTPException):
                    errors[index] += 1
                    connection.close()
                    continue
                latencies[index].append((time.perf_counter_ns() - began) / 1e6)
                if status != 200:
                    errors[index] += 1
        finally:
            opened[index] = connection.opened
            connection.close()

    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for thread in clients:
        thread.start()
    workers = workers or []
    cpu_before = {name: cpu_seconds(pids) for name, pids in cpu_pids.items()}
    worker_before = [cpu_seconds([pid]) for pid in workers]
    client_before = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in clients:
        thread.join(timeout=seconds + 120)
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - client_before
    cpu = {name: cpu_seconds(pids) - cpu_before[name] for name, pids in cpu_pids.items()}
    worker_cpu = [
        cpu_seconds([pid]) - before for pid, before in zip(workers, worker_before, strict=True)
    ]
    flat = [value for part in latencies for value in part]
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "connections": sum(opened),
        "seconds": elapsed,
        "rps": len(flat) / elapsed,
        "p50": percentile(flat, 50),
        "p99": percentile(flat, 99),
        "cpu": {**cpu, "client": client_cpu},
        "worker_cpu": worker_cpu,
    }


def upstream_stats(upstream: Target) -> dict[str, int]:
    return upstream.get_json("/stats")


def measure_proxy(
    direct: Target,
    hub: Target,
    hub_path: str,
    settings: Settings,
    cpu_pids: dict[str, list[int]],
    workers: list[int],
) -> dict[str, Any]:
    ping = "/v1/ping"
    print(
        f"1. proxy: {settings.latency_requests} sequential GETs each, then {settings.rps_threads} "
        f"threads for {settings.rps_seconds:g} s each",
        flush=True,
    )
    for target, path in ((direct, ping), (hub, hub_path)):
        concurrent(target, path, settings.rps_threads, 1.0, {})  # every hub worker warm
        sequential(target, path, settings.warmup_requests)
    series: dict[str, list[float]] = {"direct": [], "direct_new": [], "hub": [], "healthz": []}
    opened: dict[str, int] = dict.fromkeys(series, 0)
    block = max(1, settings.latency_requests // settings.latency_rounds)
    stats_before = upstream_stats(direct)
    for _ in range(settings.latency_rounds):
        for key, target, path, fresh in (
            ("direct", direct, ping, False),
            ("hub", hub, hub_path, False),
            ("direct_new", direct, ping, True),
            ("healthz", hub, "/healthz", False),
        ):
            values, count = sequential(target, path, block, fresh=fresh)
            series[key].extend(values)
            opened[key] += count
    stats_after = upstream_stats(direct)
    sequential_requests = len(series) * block * settings.latency_rounds
    # Upstream connections made by the hub: everything the upstream saw minus the client's own
    # (one per keep-alive block, one per request of the new-connection series, /stats).
    client_connections = opened["direct"] + opened["direct_new"] + 1
    hub_upstream_connections = (
        stats_after["connections"] - stats_before["connections"] - client_connections
    )
    latency = {
        key: {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "mean": mean(values),
            "count": len(values),
            "client_connections": opened[key],
        }
        for key, values in series.items()
    }
    rps_direct = concurrent(direct, ping, settings.rps_threads, settings.rps_seconds, cpu_pids)
    rps_hub = concurrent(
        hub, hub_path, settings.rps_threads, settings.rps_seconds, cpu_pids, workers
    )
    return {
        "latency": latency,
        "upstream_connections_per_hub_request": hub_upstream_connections
        / (block * settings.latency_rounds),
        "sequential_requests": sequential_requests,
        "rps": {"direct": rps_direct, "hub": rps_hub},
    }


# -- 2. download ---------------------------------------------------------------------------------


class RssSampler:
    """The hub workers' RSS every ``interval`` seconds, in a thread."""

    def __init__(self, pids: list[int], interval: float) -> None:
        self.pids = pids
        self.interval = interval
        self.baseline = {pid: rss_bytes(pid) or 0 for pid in pids}
        self.peak = dict(self.baseline)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        self.samples += 1
        for pid in self.pids:
            value = rss_bytes(pid)
            if value is not None and value > self.peak[pid]:
                self.peak[pid] = value

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def result(self) -> dict[str, Any]:
        growth = {pid: self.peak[pid] - self.baseline[pid] for pid in self.pids}
        worst = max(self.pids, key=lambda pid: growth[pid])
        return {
            "baseline_mb": self.baseline[worst] / MB,
            "peak_mb": self.peak[worst] / MB,
            "growth_mb": growth[worst] / MB,
            "total_baseline_mb": sum(self.baseline.values()) / MB,
            "total_peak_mb": sum(self.peak.values()) / MB,
            "samples": self.samples,
        }


def download(target: Target, path: str, expected: int) -> float:
    """Seconds to read the whole answer; the byte count is checked."""
    connection = Connection(target.port, timeout=300)
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    total = 0
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=target.headers)
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(
                f"{target.name} GET {path}: {response.status} {response.read(300)!r}"
            )
        for _ in range(expected // 1024 + 16):  # at least 1 KiB per read until the end
            count = response.readinto(view)
            if not count:
                break
            total += count
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if total != expected:
        raise RuntimeError(f"{target.name} GET {path}: {total} bytes, expected {expected}")
    return elapsed


def measure_download(
    direct: Target,
    relay: Target,
    hub: Target,
    ref: str,
    ref_small_chunks: str,
    cpu_pids: dict[str, list[int]],
    workers: list[int],
    settings: Settings,
) -> dict[str, Any]:
    size = settings.download_bytes
    print(
        f"2. download: {size / MIB:,.0f} MiB direct, through a bare relay, via the items route "
        f"and via the proxy, {settings.download_runs}x each",
        flush=True,
    )
    path = f"/v1/file?size={size}"
    routes = {
        "direct": (direct, path),
        "relay": (relay, path),
        "items": (hub, f"/api/integrations/{ref}/services/files/items/{size}/download"),
        "items_64kib": (
            hub,
            f"/api/integrations/{ref_small_chunks}/services/files/items/{size}/download",
        ),
        "proxy": (hub, f"/api/integrations/{ref}/proxy/{path[1:]}"),
    }
    seconds: dict[str, list[float]] = {key: [] for key in routes}
    cpu: dict[str, dict[str, list[float]]] = {key: {} for key in routes}
    rss: dict[str, dict[str, Any]] = {}
    for _ in range(settings.download_runs):
        for key, (target, path) in routes.items():
            time.sleep(0.5)  # let the workers settle before the baseline is read
            before = {name: cpu_seconds(pids) for name, pids in cpu_pids.items()}
            client_before = time.process_time()
            if target is hub:
                with RssSampler(workers, settings.rss_interval) as sampler:
                    seconds[key].append(download(target, path, size))
                result = sampler.result()
                if key not in rss or result["growth_mb"] > rss[key]["growth_mb"]:
                    rss[key] = result
            else:
                seconds[key].append(download(target, path, size))
            used = {name: cpu_seconds(pids) - before[name] for name, pids in cpu_pids.items()}
            used["client"] = time.process_time() - client_before
            for name, value in used.items():
                cpu[key].setdefault(name, []).append(value / (size / GIB))
    throughput = {
        key: {
            "mib_s": [size / MIB / value for value in values],
            "best_mib_s": size / MIB / min(values),
            "median_mib_s": size / MIB / sorted(values)[len(values) // 2],
            # CPU-seconds per GiB of each party (median over the runs).
            "cpu_per_gib": {
                name: sorted(values)[len(values) // 2] for name, values in cpu[key].items()
            },
        }
        for key, values in seconds.items()
    }
    return {"bytes": size, "throughput": throughput, "rss": rss}


# -- 3. paging -----------------------------------------------------------------------------------


def page_through(
    target: Target, base: str, limit: int, items_key: str, next_key: str
) -> list[float]:
    """Every page of the folder at ``limit``; ms per page. The item count is checked."""
    connection = Connection(target.port)
    cursor = None
    times = []
    seen = 0
    try:
        for _ in range(FOLDER_SIZE // limit + 2):
            query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            started = time.perf_counter_ns()
            status, body = connection.fetch(f"{base}?{urlencode(query)}", target.headers)
            data = json.loads(body)
            times.append((time.perf_counter_ns() - started) / 1e6)
            if status != 200:
                raise RuntimeError(f"{target.name} {base}: {status} {body[:300]!r}")
            seen += len(data[items_key])
            cursor = data[next_key]
            if cursor is None:
                break
    finally:
        connection.close()
    if seen != FOLDER_SIZE:
        raise RuntimeError(f"{target.name} {base}: {seen} items, expected {FOLDER_SIZE}")
    return times


def measure_paging(direct: Target, hub: Target, ref: str, settings: Settings) -> dict[str, Any]:
    print(
        f"3. paging: {FOLDER_SIZE:,} items at limit "
        f"{' and '.join(map(str, settings.page_limits))}, {settings.page_passes} passes",
        flush=True,
    )
    routes = {
        "direct": (direct, "/list", "entries", "next"),
        "hub": (hub, f"/api/integrations/{ref}/services/files/items", "items", "nextCursor"),
    }
    results: dict[int, dict[str, Any]] = {}
    for limit in settings.page_limits:
        for target, base, items_key, next_key in routes.values():
            page_through(target, base, limit, items_key, next_key)  # warm-up
        times: dict[str, list[float]] = {key: [] for key in routes}
        totals: dict[str, list[float]] = {key: [] for key in routes}
        for _ in range(settings.page_passes):
            for key, (target, base, items_key, next_key) in routes.items():
                values = page_through(target, base, limit, items_key, next_key)
                times[key].extend(values)
                totals[key].append(sum(values) / 1000)
        results[limit] = {
            key: {
                "pages": len(values) // settings.page_passes,
                "mean_ms": mean(values),
                "p50_ms": percentile(values, 50),
                "p99_ms": percentile(values, 99),
                "total_s": min(totals[key]),
            }
            for key, values in times.items()
        }
    return results


# -- setup ---------------------------------------------------------------------------------------


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    completed = subprocess.run(
        [str(BIN / "hub"), *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def install_plugin(work: Path) -> Path:
    """pip-install bench/plugin into a private directory (from a copy, so no build files land
    in the source tree); the directory goes on the hub processes' PYTHONPATH only."""
    source = work / "plugin-src"
    shutil.copytree(BENCH / "plugin", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "plugin-site"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "--quiet",
            "--no-deps", "--no-build-isolation", "--target", str(target), str(source),
        ],
        check=True,
        cwd=work,
        timeout=300,
    )  # fmt: skip
    return target


def hub_environment(instance: Path, port: int, plugin_site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_INSTANCE_PATH=str(instance),
        HUB_PUBLIC_URL=f"http://{HOST}:{port}",
        HUB_ALLOW_PRIVATE_ADDRESSES="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(plugin_site), env.get("PYTHONPATH")])),
    )
    return env


def serve_defaults() -> dict[str, Any]:
    """The ``hub serve`` defaults, which ``make run`` uses (it passes no --workers/--threads)."""
    from hub.cli import serve

    defaults = {}
    for param in serve.params:
        value = param.default
        defaults[param.name] = value() if callable(value) else value
    return defaults


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every CPU, /proc/stat), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    import gunicorn

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "memory": memory,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "gunicorn": gunicorn.__version__,
    }


# -- report --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def build_report(
    results: dict[str, Any], info: dict[str, Any], settings: Settings
) -> tuple[str, str]:
    """The terminal table and the Markdown page."""
    proxy = results["proxy"]
    lat = proxy["latency"]
    rps = proxy["rps"]
    down = results["download"]
    thr = down["throughput"]
    pages = results["paging"]
    probe = results.get("probe") or {}
    other = results["other_cpu"]
    added_p50 = lat["hub"]["p50"] - lat["direct"]["p50"]
    added_p99 = lat["hub"]["p99"] - lat["direct"]["p99"]
    ratio_items = thr["items"]["median_mib_s"] / thr["direct"]["median_mib_s"]
    ratio_proxy = thr["proxy"]["median_mib_s"] / thr["direct"]["median_mib_s"]
    ratio_small = thr["items_64kib"]["median_mib_s"] / thr["direct"]["median_mib_s"]
    ratio_relay = thr["relay"]["median_mib_s"] / thr["direct"]["median_mib_s"]
    rss_small = down["rss"]["items_64kib"]
    worker_cpu = rps["hub"]["worker_cpu"]
    worker_split = " / ".join(f"{value:.1f} s" for value in worker_cpu)
    rss_items = down["rss"]["items"]
    rss_proxy = down["rss"]["proxy"]
    size_label = (
        f"{down['bytes'] / GIB:g} GiB" if down["bytes"] >= GIB else (f"{down['bytes'] / MIB:g} MiB")
    )
    hub_cpu_ms = rps["hub"]["cpu"]["hub"] / rps["hub"]["requests"] * 1000
    upstream_cpu_direct_ms = rps["direct"]["cpu"]["upstream"] / rps["direct"]["requests"] * 1000

    met_latency = added_p50 <= TARGET_P50_ADDED_MS
    met_items = ratio_items >= TARGET_THROUGHPUT_RATIO
    met_proxy = ratio_proxy >= TARGET_THROUGHPUT_RATIO
    met_rss = max(rss_items["growth_mb"], rss_proxy["growth_mb"]) < TARGET_RSS_GROWTH_MB

    rows = [
        ("GET latency p50, 1 keep-alive connection (ms)",
         f"{lat['direct']['p50']:.2f}", f"{lat['hub']['p50']:.2f}", f"+{added_p50:.2f} ms",
         f"<= +{TARGET_P50_ADDED_MS:g} ms", verdict(met_latency)),
        ("GET latency p99, 1 keep-alive connection (ms)",
         f"{lat['direct']['p99']:.2f}", f"{lat['hub']['p99']:.2f}", f"+{added_p99:.2f} ms",
         "-", "-"),
        (f"GET requests/s, {settings.rps_threads} threads x {settings.rps_seconds:g} s",
         f"{rps['direct']['rps']:,.0f}", f"{rps['hub']['rps']:,.0f}",
         f"{rps['hub']['rps'] / rps['direct']['rps']:.0%} of direct", "-", "-"),
        (f"GET latency p50 / p99 under {settings.rps_threads} threads (ms)",
         f"{rps['direct']['p50']:.2f} / {rps['direct']['p99']:.2f}",
         f"{rps['hub']['p50']:.2f} / {rps['hub']['p99']:.2f}", "-", "-", "-"),
        (f"Download {size_label}, items route (MiB/s)",
         f"{thr['direct']['median_mib_s']:,.0f}", f"{thr['items']['median_mib_s']:,.0f}",
         f"{ratio_items:.0%} of direct", f">= {TARGET_THROUGHPUT_RATIO:.0%}", verdict(met_items)),
        (f"Download {size_label}, proxy route (MiB/s)",
         f"{thr['direct']['median_mib_s']:,.0f}", f"{thr['proxy']['median_mib_s']:,.0f}",
         f"{ratio_proxy:.0%} of direct", f">= {TARGET_THROUGHPUT_RATIO:.0%}", verdict(met_proxy)),
        (f"Download {size_label}, items route, plugin reading 64 KiB chunks (MiB/s)",
         f"{thr['direct']['median_mib_s']:,.0f}", f"{thr['items_64kib']['median_mib_s']:,.0f}",
         f"{ratio_small:.0%} of direct", "(for comparison)", "-"),
        (f"Download {size_label}, bare relay process instead of the hub (MiB/s)",
         f"{thr['direct']['median_mib_s']:,.0f}", f"{thr['relay']['median_mib_s']:,.0f}",
         f"{ratio_relay:.0%} of direct", "(the ceiling)", "-"),
        *(
            (f"Download {size_label}, {key} route against the bare relay (relay / hub, MiB/s)",
             f"{thr['relay']['median_mib_s']:,.0f}", f"{thr[key]['median_mib_s']:,.0f}",
             f"{ratio / ratio_relay:.0%} of the relay", f">= {TARGET_RELAY_RATIO:.0%}",
             verdict(ratio / ratio_relay >= TARGET_RELAY_RATIO))
            for key, ratio in (("items", ratio_items), ("proxy", ratio_proxy))
        ),
        ("Hub worker RSS during download, items route (MB)", "-",
         f"{rss_items['baseline_mb']:.1f} -> {rss_items['peak_mb']:.1f}",
         f"+{rss_items['growth_mb']:.1f} MB", f"< {TARGET_RSS_GROWTH_MB:g} MB",
         verdict(rss_items["growth_mb"] < TARGET_RSS_GROWTH_MB)),
        ("Hub worker RSS during download, proxy route (MB)", "-",
         f"{rss_proxy['baseline_mb']:.1f} -> {rss_proxy['peak_mb']:.1f}",
         f"+{rss_proxy['growth_mb']:.1f} MB", f"< {TARGET_RSS_GROWTH_MB:g} MB",
         verdict(rss_proxy["growth_mb"] < TARGET_RSS_GROWTH_MB)),
        ("Hub worker RSS during download, items route, 64 KiB chunks (MB)", "-",
         f"{rss_small['baseline_mb']:.1f} -> {rss_small['peak_mb']:.1f}",
         f"+{rss_small['growth_mb']:.1f} MB", "(for comparison)", "-"),
    ]  # fmt: skip
    for limit, by in pages.items():
        rows.append(
            (
                f"Paging {FOLDER_SIZE:,} items, limit {limit}: ms per page "
                f"(mean; p50) x {by['hub']['pages']} pages",
                f"{by['direct']['mean_ms']:.2f}; {by['direct']['p50_ms']:.2f}",
                f"{by['hub']['mean_ms']:.2f}; {by['hub']['p50_ms']:.2f}",
                f"+{by['hub']['mean_ms'] - by['direct']['mean_ms']:.2f} ms/page",
                "-",
                "-",
            )
        )
        rows.append(
            (
                f"Paging {FOLDER_SIZE:,} items, limit {limit}: whole folder (s)",
                f"{by['direct']['total_s']:.2f}",
                f"{by['hub']['total_s']:.2f}",
                f"+{by['hub']['total_s'] - by['direct']['total_s']:.2f} s",
                "-",
                "-",
            )
        )
    header = ("Measurement", "Direct", "Via hub", "Hub adds", "Target", "Result")

    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    terminal = "\n".join(
        "  ".join(str(cell).replace("**", "").ljust(widths[i]) for i, cell in enumerate(row))
        for row in [header, *rows]
    )

    def table(head: tuple[str, ...], body: list[tuple[Any, ...]]) -> str:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
        return "\n".join(lines)

    details = [
        ("Hub CPU per proxied GET (all hub processes, during the requests/s run)",
         f"{hub_cpu_ms:.2f} ms"),
        (f"CPU of each hub worker during the {rps['hub']['seconds']:.0f} s requests/s run",
         worker_split),
        ("Upstream CPU per direct GET (during the requests/s run)",
         f"{upstream_cpu_direct_ms:.2f} ms"),
        ("Client (bench) CPU during the requests/s runs, direct / via hub",
         f"{rps['direct']['cpu']['client']:.1f} s / {rps['hub']['cpu']['client']:.1f} s of "
         f"{rps['direct']['seconds']:.1f} s / {rps['hub']['seconds']:.1f} s"),
        ("Upstream TCP connections the hub opened per proxied GET (sequential run)",
         f"{proxy['upstream_connections_per_hub_request']:.2f}"),
        ("Direct GET p50 with a new TCP connection per request (the cost of no keep-alive)",
         f"{lat['direct_new']['p50']:.2f} ms (vs {lat['direct']['p50']:.2f} ms kept alive)"),
        ("Hub `GET /healthz` p50 / p99, 1 keep-alive connection (Flask, a database connection "
         "and `SELECT 1`: the floor of a hub request)",
         f"{lat['healthz']['p50']:.2f} / {lat['healthz']['p99']:.2f} ms"),
        ("Client connections to the hub in the sequential run (keep-alive check)",
         f"{lat['hub']['client_connections']} for {lat['hub']['count']} requests"),
        ("Errors in the requests/s runs, direct / via hub",
         f"{rps['direct']['errors']} / {rps['hub']['errors']}"),
    ]  # fmt: skip
    for key, label in (
        ("direct", "direct"),
        ("relay", "bare relay"),
        ("items", "items route"),
        ("items_64kib", "items route, 64 KiB chunks"),
        ("proxy", "proxy route"),
    ):
        used = thr[key]["cpu_per_gib"]
        parts_cpu = [f"{name} {used[name]:.2f}" for name in ("upstream", "relay", "hub", "client")]
        if key != "relay":
            parts_cpu = [part for part in parts_cpu if not part.startswith("relay")]
        if key in ("direct", "relay"):
            parts_cpu = [part for part in parts_cpu if not part.startswith("hub")]
        details.append((f"CPU-seconds per GiB downloaded, {label}", " / ".join(parts_cpu)))
    if probe:
        for key, label in (
            ("proxy", "proxied GET"),
            ("items", "items page (limit 100)"),
            ("download", "download (1 KiB)"),
            ("healthz", "GET /healthz"),
        ):
            entry = probe["requests"][key]
            details.append(
                (
                    f"Per {label}: SQL statements / writes / database connections opened",
                    f"{entry['statements']:g} / {entry['writes']:g} / {entry['connects']:g}",
                )
            )
        details.append(
            (
                "Database connection taken from the pool and given back, as the hub does per "
                "request (SQLite, 4 PRAGMAs when a connection is new)",
                f"{probe['connect_close_ms']:.3f} ms",
            )
        )
        for key, label in (
            ("proxy", "proxied GET"),
            ("items", "items page (limit 100)"),
            ("healthz", "GET /healthz with the API token"),
        ):
            details.append(
                (
                    f"In-process time per {label} (Flask test client, no gunicorn)",
                    f"{probe['requests'][key]['ms']:.2f} ms",
                )
            )
        if "bare_flask_ms" in probe["requests"]:
            details.append(
                (
                    "In-process time per request of a bare Flask app answering a constant (the "
                    "same test client): the floor of any Flask request",
                    f"{probe['requests']['bare_flask_ms']:.2f} ms",
                )
            )

    components = [
        (name, f"{entry['ms']:.3f}", f"{entry['statements']:g}")
        for name, entry in (probe.get("requests", {}).get("components") or {}).items()
    ]
    stages = [
        (name.strip(), f"{micros:,.0f}")
        for name, micros in (probe.get("requests", {}).get("stages") or {}).items()
    ]

    causes = []
    if not met_latency:
        causes.append(
            f"- **Proxy latency target missed**: the hub adds {added_p50:.2f} ms at p50 (target "
            f"{TARGET_P50_ADDED_MS:g} ms). The hub spends {hub_cpu_ms:.2f} ms of CPU per proxied "
            "GET; a sequential request waits for all of it, so the CPU is the latency. The "
            "table of steps above says where it goes."
        )
        if len(worker_cpu) > 1 and max(worker_cpu) > 3 * max(min(worker_cpu), 0.01):
            causes.append(
                f"- Under {settings.rps_threads} keep-alive clients the hub workers were not "
                f"evenly loaded (CPU {worker_split}): a gthread worker keeps the connections it "
                "accepted, so one worker, one GIL, served most requests while the other idled. "
                "Requests/s is then bounded by one core's worth of the CPU per request above."
            )
        if proxy["upstream_connections_per_hub_request"] >= 0.5:
            causes.append(
                f"- The hub opened {proxy['upstream_connections_per_hub_request']:.2f} upstream "
                "TCP connections per proxied GET: the per-thread session of `hub.transport` "
                "did not keep them alive. A new connection costs "
                f"{lat['direct_new']['p50'] - lat['direct']['p50']:.2f} ms at p50 straight to the "
                "upstream."
            )
    if probe:
        entry = probe["requests"]["proxy"]
        steps = probe["requests"].get("components") or {}
        upstream_step = steps.get(
            "upstream GET through the provider context (urllib3, pinned pools)"
        )
        causes.append(
            f"- Proxy latency: the hub spends {hub_cpu_ms:.2f} ms of CPU per proxied GET under "
            f"{settings.rps_threads} clients. In process, without gunicorn and the client, one "
            f"proxied GET takes {entry['ms']:.2f} ms and runs {entry['statements']:g} SQL "
            "statements"
            + (
                f"; the upstream GET (urllib3) takes {upstream_step['ms']:.2f} ms of "
                "it, upstream included"
                if upstream_step
                else ""
            )
            + ". The steps table above says where the rest goes."
        )
    for key, ok, ratio in (("items", met_items, ratio_items), ("proxy", met_proxy, ratio_proxy)):
        if not ok:
            used = thr[key]["cpu_per_gib"]
            direct_used = thr["direct"]["cpu_per_gib"]
            causes.append(
                f"- **Download throughput target missed** ({key} route: {ratio:.0%} of direct). "
                f"Per GiB the hub used {used['hub']:.2f} CPU-seconds, the upstream "
                f"{used['upstream']:.2f} and the client {used['client']:.2f} (direct: upstream "
                f"{direct_used['upstream']:.2f}, client {direct_used['client']:.2f}): whatever "
                "stands in between copies every byte out of the kernel and back in, on the same "
                f"{info['nproc']} CPUs as the client and the upstream. A bare relay process "
                "(bench/relay.py: `recv_into` and `sendall`, no HTTP, no framework) reached "
                f"{ratio_relay:.0%} of direct in this run, which is about the ceiling here; the "
                f"hub reached {ratio / ratio_relay:.0%} of the relay's throughput."
            )
    if not met_rss:
        causes.append("- **RSS target missed**: see the download rows above.")
    step = (probe.get("requests", {}).get("components")) or {}
    if step and len(pages) > 0:
        added = {
            limit: by["hub"]["mean_ms"] - by["direct"]["mean_ms"] for limit, by in pages.items()
        }
        parts = ", ".join(
            f"+{value:.1f} ms per page at limit {limit}" for limit, value in added.items()
        )
        names = {
            "browse": "items, limit 1000: plugin browse (upstream GET, JSON, 1000 Items)",
            "page_json": "items, limit 1000: page_json (Items to dicts)",
            "jsonify": "items, limit 1000: jsonify (Flask JSON answer)",
            "dumps": "items, limit 1000: json.dumps alone (for comparison)",
        }
        if all(name in step for name in names.values()):
            ms = {key: step[name]["ms"] for key, name in names.items()}
            causes.append(
                f"- Paging ({parts}): each page pays the fixed cost of a hub request (the same "
                "lookups and upstream call as a proxied GET), and then per item: for "
                f"1000 items the plugin's browse takes {ms['browse']:.1f} ms (upstream GET, JSON "
                f"decoding, `Item` objects with datetimes), `page_json` {ms['page_json']:.1f} ms "
                f"and Flask's `jsonify` {ms['jsonify']:.1f} ms (`json.dumps` alone: "
                f"{ms['dumps']:.1f} ms; Flask's provider sorts keys)."
            )
    if not causes:
        causes.append("- Every target was met in this run.")

    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); the numbers below are from the last run. "
        "Re-run it on the machine you care about: the results depend on it.",
        "",
        f"- **Date:** {results['date']}",
        f"- **Machine:** {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, "
        f"Linux {info['kernel']}, Python {info['python']}, gunicorn {info['gunicorn']}",
        f"- **Other load:** load average {results['load_before']} (1/5/15 min) before the run; "
        f"during the {other['wall']:.0f} s of measurements, processes other than the bench's "
        f"used {other['seconds']:.1f} CPU-seconds ({other['seconds'] / other['wall']:.0%} of "
        "one CPU), competing with the client, the hub and the upstream",
        f"- **Hub:** `hub serve` with the defaults `make run` uses: "
        f"{results['hub_workers']} worker processes (`--workers` default: the CPU count) x "
        f"{results['hub_threads']} threads, the hub's balanced gthread worker "
        "(hub/balanced_worker.py), access log on (to a file), "
        "SQLite database in a temporary instance",
        f"- **Upstream:** bench/upstream.py, a bare WSGI app under gunicorn gthread, "
        f"{results['upstream_workers']} workers x {results['upstream_threads']} threads, no "
        "access log",
        "- **Client:** bench/run.py, Python `http.client` on the same machine; client, hub "
        "and upstream share the CPUs.",
        "",
        "## Results",
        "",
        table(header, rows),
        "",
        "## Details",
        "",
        table(("What", "Value"), details),
        "",
        *(
            [
                "## Where the hub spends (in process)",
                "",
                "bench/probe.py times each step of `GET /api/integrations/{id}/proxy/v1/ping`, "
                "and of a 1000-item page of the items route, alone, in one request context of "
                "the hub app (ms and SQL statements per call; no gunicorn, no client):",
                "",
                table(("Step", "ms", "SQL statements"), components),
                "",
            ]
            if components
            else []
        ),
        *(
            [
                "## Where a proxied GET spends, inside a request (in process)",
                "",
                "bench/probe.py again, timing each stage where it runs during "
                f"{probe['requests'].get('stages_requests', 0):,} proxied GETs through Flask's "
                "test client: "
                "every request hook, the session cookie, the view's lookups and the upstream "
                "call (its wait for the bench's upstream included). A step costs more here than "
                "alone above: it shares the CPU's caches with the rest of the request. Lines "
                'starting with "of which" are part of the line above.',
                "",
                table(("Stage", "us per request"), stages),
                "",
            ]
            if stages
            else []
        ),
        "## Targets and where the time goes",
        "",
        f"- Proxy: the hub adds at most {TARGET_P50_ADDED_MS:g} ms at p50: "
        f"{verdict(met_latency)} (+{added_p50:.2f} ms).",
        f"- Download: at least {TARGET_THROUGHPUT_RATIO:.0%} of direct throughput: items route "
        f"{verdict(met_items)} ({ratio_items:.0%}), proxy route {verdict(met_proxy)} "
        f"({ratio_proxy:.0%}); RSS growth under {TARGET_RSS_GROWTH_MB:g} MB: {verdict(met_rss)} "
        f"(+{rss_items['growth_mb']:.1f} MB items, +{rss_proxy['growth_mb']:.1f} MB proxy).",
        "- Paging: no target; the time per page the hub adds is in the table.",
        "",
        *causes,
        "",
        "## Method",
        "",
        f"1. **Proxy.** `GET /v1/ping` (a 38-byte JSON answer) straight to the upstream and as "
        "`GET /api/integrations/{id}/proxy/v1/ping` through the hub with an API token; the hub "
        "adds the integration's bearer token, which the upstream checks. Latency: "
        f"{lat['hub']['count']} sequential GETs per target on one keep-alive connection, in "
        f"{settings.latency_rounds} alternating blocks, after a warm-up; p50 and p99 are "
        f"nearest-rank. A third series opens a new connection per GET. Requests/s: "
        f"{settings.rps_threads} client threads, each with its own keep-alive connection, for "
        f"{settings.rps_seconds:g} s per target. CPU times come from /proc.",
        f"2. **Download.** A {size_label} file that the upstream makes on the fly in 1 MiB "
        "chunks, with Content-Length: straight, through the items download route "
        "(`/api/integrations/{id}/services/files/items/{item}/download`, the bench plugin "
        "streams it with `iter_content(hub.items.CHUNK_SIZE)`, 1 MiB, as the shipped plugins "
        "do; the item id is the size) and through the proxy. For comparison: the items route "
        "once more through a second integration whose `chunkKiB` setting makes the plugin read "
        "64 KiB chunks, and the same download through bench/relay.py, a bare relay process "
        "(request head passed on, answer copied back with `recv_into` a 1 MiB buffer and "
        "`sendall`), the least any process in between can cost. "
        f"{settings.download_runs} run(s) each, median reported; the client reads "
        "into a 1 MiB buffer with `readinto` and checks the byte count; the CPU-seconds per "
        "GiB of every party come from /proc. The RSS of every hub worker is read "
        f"from /proc every {settings.rss_interval * 1000:g} ms; shown is the worker that grew "
        "most: its RSS just before the download, its peak, and the growth.",
        f"3. **Paging.** A folder of {FOLDER_SIZE:,} items (the upstream's `/list`, "
        "`{entries, next}`) straight and through `/api/integrations/{id}/services/files/items` "
        f"(`{{items, nextCursor, path}}`), every page at each limit, {settings.page_passes} "
        "pass(es) after a warm-up pass; the time per page includes the client's JSON decoding "
        "(the hub's answers carry more fields per item). The whole-folder time is the best "
        "pass.",
        "4. **Probe.** bench/probe.py builds the hub app in process against the same instance "
        "and upstream and counts, through peewee's query log, the SQL statements per request, "
        "and the database connections the request opens; then it times the steps of a "
        "proxied GET and of a 1000-item page one by one. All in-process times are wall-clock "
        "and move with the machine's other load.",
        "",
        "Never timed in tests: these numbers live here only. Run `make bench` (about 2 minutes).",
        "",
    ]
    return terminal, "\n".join(parts)


# -- main ----------------------------------------------------------------------------------------


def run(settings: Settings, docs: Path | None) -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    processes = Processes(work)
    try:
        print(f"hub bench: working in {work}", flush=True)
        plugin_site = install_plugin(work)
        instance = work / "instance"
        hub_port, upstream_port, relay_port = free_port(), free_port(), free_port()
        env = hub_environment(instance, hub_port, plugin_site)
        run_cli(["init", "--no-admin"], env)
        password = secrets.token_urlsafe(18)
        run_cli(["users", "create", "bench", "--admin", "--password-stdin"], env, password + "\n")
        api_token = run_cli(["tokens", "create", "bench"], env).strip().splitlines()[-1]

        upstream_token = secrets.token_urlsafe(24)
        upstream_workers, upstream_threads = 2, 4
        upstream = processes.start(
            "upstream",
            [
                sys.executable, str(BENCH / "upstream.py"), "--port", str(upstream_port),
                "--token", upstream_token, "--workers", str(upstream_workers),
                "--threads", str(upstream_threads),
            ],
            env,
        )  # fmt: skip
        relay_process = processes.start(
            "relay",
            [sys.executable, str(BENCH / "relay.py"), "--port", str(relay_port),
             "--upstream", str(upstream_port)],
            env,
        )  # fmt: skip
        defaults = serve_defaults()
        hub_process = processes.start(
            "hub", [str(BIN / "hub"), "serve", "--host", HOST, "--port", str(hub_port)], env
        )
        wait_ready(processes, "upstream", upstream, upstream_port, "/stats")
        wait_ready(processes, "relay", relay_process, relay_port, "/stats")
        wait_ready(processes, "hub", hub_process, hub_port, "/healthz")
        workers: list[int] = []
        for _ in range(100):  # workers boot after the master answers... or before: wait a bit
            workers = children_of(hub_process.pid)
            if len(workers) >= int(defaults["workers"]):
                break
            time.sleep(0.1)
        print(f"hub: {len(workers)} workers x {defaults['threads']} threads on :{hub_port}; "
              f"upstream on :{upstream_port}", flush=True)  # fmt: skip

        auth = {"Authorization": f"Bearer {api_token}"}
        server = f"http://{HOST}:{upstream_port}"
        ref = create_integration(
            hub_port, auth, "Bench files", {"serverUrl": server}, upstream_token
        )
        # The same, with the plugin reading downloads in 64 KiB chunks instead of 1 MiB.
        ref_small_chunks = create_integration(
            hub_port,
            auth,
            "Bench files 64 KiB",
            {"serverUrl": server, "chunkKiB": 64},
            upstream_token,
        )

        direct = Target("upstream", upstream_port, {"Authorization": f"Bearer {upstream_token}"})
        # The relay passes the request on as it is: "close" lets it end with the answer.
        relay = Target("relay", relay_port, {**direct.headers, "Connection": "close"})
        hub = Target("hub", hub_port, auth)
        hub_ping = f"/api/integrations/{ref}/proxy/v1/ping"
        if hub.get_json(hub_ping) != direct.get_json("/v1/ping"):
            raise RuntimeError("the proxied answer differs from the direct one")
        cpu_pids = {"hub": group_of(hub_process.pid), "upstream": group_of(upstream.pid)}
        relay_pids = {**cpu_pids, "relay": group_of(relay_process.pid)}

        results: dict[str, Any] = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_before": load_average(),
            "hub_workers": len(workers),
            "hub_threads": defaults["threads"],
            "upstream_workers": upstream_workers,
            "upstream_threads": upstream_threads,
        }
        ours = [hub_process.pid, upstream.pid, relay_process.pid]
        busy_before = machine_busy_seconds()
        ours_before = time.process_time() + sum(cpu_seconds(group_of(pid)) for pid in ours)
        wall_before = time.monotonic()
        results["proxy"] = measure_proxy(direct, hub, hub_ping, settings, cpu_pids, workers)
        results["download"] = measure_download(
            direct, relay, hub, ref, ref_small_chunks, relay_pids, workers, settings
        )
        results["paging"] = measure_paging(direct, hub, ref, settings)
        wall = time.monotonic() - wall_before
        ours_cpu = time.process_time() + sum(cpu_seconds(group_of(pid)) for pid in ours)
        others = machine_busy_seconds() - busy_before - (ours_cpu - ours_before)
        results["other_cpu"] = {"seconds": max(others, 0.0), "wall": wall}
        results["probe"] = run_probe(env, ref, api_token, settings.profile)

        info = machine()
        terminal, markdown = build_report(results, info, settings)
        print()
        print(terminal)
        print()
        (work / "results.json").write_text(json.dumps(results, indent=2, default=str))
        if docs is not None:
            docs.write_text(markdown)
            print(f"wrote {docs.relative_to(ROOT) if docs.is_relative_to(ROOT) else docs}")
        hub_errors = [
            line for line in processes.log_tail("hub", 2000).splitlines() if "Traceback" in line
        ]
        if hub_errors:
            print(f"warning: the hub logged {len(hub_errors)} traceback(s); see its log")
        print(f"done in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        processes.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def create_integration(
    port: int, auth: dict[str, str], name: str, settings: dict[str, Any], token: str
) -> str:
    """A bearer integration of the bench provider, connected with ``token``; its id."""
    body = {"name": name, "provider": "benchfiles", "authType": "bearer", "settings": settings}
    status, created = call(port, "POST", "/api/integrations", auth, body)
    if status != 201:
        raise RuntimeError(f"creating the integration: {status} {created}")
    ref = str(created["id"])
    status, answer = call(
        port, "POST", f"/api/integrations/{ref}/connection", auth, {"token": token}
    )
    if status != 200:
        raise RuntimeError(f"connecting the integration: {status} {answer}")
    return ref


def run_probe(
    env: dict[str, str], ref: str, api_token: str, profile: bool = False
) -> dict[str, Any] | None:
    print("4. probe: SQL statements and database connections per request (in process)", flush=True)
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCH / "probe.py"),
            "--integration",
            ref,
            *(["--profile"] if profile else []),
        ],
        env={**env, "BENCH_API_TOKEN": api_token},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        print(f"warning: the probe failed:\n{completed.stdout}{completed.stderr}")
        return None
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if profile:
        print(completed.stdout.rsplit("\n", 2)[0])
        print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the hub against a local upstream.")
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    parser.add_argument("--docs", type=Path, default=None, help=f"where to write (default {DOCS})")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    parser.add_argument("--profile", action="store_true", help="print where a proxied GET spends")
    args = parser.parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    settings.profile = args.profile
    docs: Path | None = args.docs or (None if args.quick else DOCS)
    if args.no_docs:
        docs = None
    return run(settings, docs)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # make's Ctrl-C or a kill still cleans up
    sys.exit(main())
