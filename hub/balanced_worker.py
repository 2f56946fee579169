"""A gunicorn ``gthread`` worker that leaves a new connection to the least loaded worker.

Every worker process of ``hub serve`` listens on the same socket. With gunicorn's own gthread
worker, whichever process wakes first accepts the connection, and a kept-alive connection stays
with the process that accepted it for its whole life: when a client opens several connections at
once, one process often takes most or all of them. A process runs its Python threads one at a
time (the GIL), so those clients then share one core while the others idle. Measured with wrk
(8 keep-alive connections, 2 workers x 4 threads, 5 s runs): 4/4 connections per worker gave
1,446 requests/s; 7/1, 810; 8/0, 626 to 690 — the same server, run after run, which is why the
throughput looked bimodal (docs/benchmarks.md).

So each worker publishes how many connections it holds, in a small table of shared memory that
the master creates before it forks them, and accepts a new connection only while no live
worker holds fewer; another worker's figure counts only while it is fresh (a worker refreshes
its own at least once a second), so a dead or stuck worker keeps the others from accepting
for at most :data:`FRESH` seconds (a worker stopping with ``SIGTERM`` clears its figure at once;
one killed outright holds it until it goes stale). Two workers holding as many each may both
race for a connection, as before: one gets it, the other finds nothing to accept.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

SLOTS = 256  # worker ages share slots modulo this: far more than a hub runs at once
FRESH = 3.0  # seconds a worker's published figure counts

# (connections, last update on the monotonic clock) per slot; 0.0 means never written. Made when
# gunicorn's master imports this module to load the worker class, so every forked worker shares it.
_TABLE = multiprocessing.RawArray(ctypes.c_double, SLOTS * 2)


def least_loaded(mine: int, slot: int, now: float, table: Any = _TABLE) -> bool:
    """Whether no other fresh worker of ``table`` holds fewer connections than ``mine``."""
    for other in range(SLOTS):
        if other == slot:
            continue
        updated = table[2 * other + 1]
        if updated and now - updated <= FRESH and table[2 * other] < mine:
            return False
    return True


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, accepting only while it is among the least loaded."""

    def init_process(self) -> None:
        self.slot = self.age % SLOTS
        self._publish()
        super().init_process()

    def _publish(self) -> None:
        _TABLE[2 * self.slot] = float(self.nr_conns)
        _TABLE[2 * self.slot + 1] = time.monotonic()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        self._publish()
        super().wait_for_and_dispatch_events(timeout)
        self._publish()

    def set_accept_enabled(self, enabled: bool) -> None:
        # The loop asks for accepting again on each turn (at least once a second) while the
        # worker has room: it is given only while no other worker holds fewer connections.
        if enabled and not least_loaded(self.nr_conns, self.slot, time.monotonic()):
            enabled = False
        super().set_accept_enabled(enabled)

    def accept(self, listener: Any) -> None:
        if not least_loaded(self.nr_conns, self.slot, time.monotonic()):
            super().set_accept_enabled(False)  # another worker holds fewer: leave it this one
            return
        super().accept(listener)
        self._publish()

    def handle_exit(self, sig: Any, frame: Any) -> None:
        _TABLE[2 * self.slot + 1] = 0.0  # stopping: no longer counts
        super().handle_exit(sig, frame)
