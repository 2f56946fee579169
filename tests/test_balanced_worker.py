"""Kept-alive connections spread over ``hub serve``'s workers (hub/balanced_worker.py).

With gunicorn's own gthread worker, 8 connections opened at once often all landed in one of two
workers — half the runs of a benchmark at a fraction of the throughput. Here a real ``hub serve``
with 2 workers gets 8 keep-alive connections at once, several times, and ``ss`` says which
process holds each."""

from __future__ import annotations

import collections
import http.client
import re
import shutil
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from hub.balanced_worker import FRESH, SLOTS, least_loaded

from .live_servers import hub_server

SS = shutil.which("ss")


def workers_of(master: int) -> list[str]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return found.stdout.split()


def per_worker(port: int) -> list[int]:
    listed = subprocess.run(
        [SS, "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(collections.Counter(re.findall(r"pid=(\d+)", listed)).values(), reverse=True)


@pytest.mark.slow
@pytest.mark.skipif(
    SS is None, reason="iproute2's ss is not installed: it tells who holds a socket"
)
def test_connections_opened_at_once_spread_over_the_workers(tmp_path):
    with hub_server(tmp_path, None) as hub:
        port = urlsplit(hub.url).port
        # /healthz answers as soon as one worker is up: wait for both (a lone worker rightly
        # takes every connection), and for their first figures.
        deadline = time.monotonic() + 60
        while len(workers_of(hub.process.pid)) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        time.sleep(1.0)
        for _ in range(4):
            barrier = threading.Barrier(8)
            connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(8)]

            def open_and_ask(
                connection: http.client.HTTPConnection, barrier: threading.Barrier = barrier
            ) -> None:
                barrier.wait(timeout=10)
                connection.request("GET", "/healthz")
                connection.getresponse().read()

            threads = [threading.Thread(target=open_and_ask, args=(c,)) for c in connections]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            counts = per_worker(port)
            for connection in connections:
                connection.close()
            assert sum(counts) == 8, counts
            assert len(counts) == 2 and counts[0] - counts[1] <= 2, counts


def test_a_worker_is_least_loaded_unless_a_fresh_one_holds_fewer():
    table = [0.0] * (2 * SLOTS)
    now = 1000.0
    table[2 * 1], table[2 * 1 + 1] = 3.0, now  # worker in slot 1: 3 connections, fresh
    assert least_loaded(3, 0, now, table)  # as many: both may accept
    assert not least_loaded(4, 0, now, table)  # one more than slot 1: leave it to slot 1
    assert least_loaded(4, 0, now + FRESH + 1, table)  # slot 1 stopped publishing: ignored
    table[2 * 1 + 1] = 0.0  # a worker that stopped says so
    assert least_loaded(9, 0, now, table)
