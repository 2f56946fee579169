"""A team's backend that receives the hub's webhooks: a real HTTP server on 127.0.0.1 that checks
each signature with its own code (the recipe of docs/webhooks.md, not the hub's) and records what
it received.

Answers are scripted in order (:meth:`Receiver.script`): a status, a delay longer than the hub
waits, or a redirect; once the script is used up it answers 200.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE = 300  # seconds a signature's timestamp may be off


@dataclass
class Received:
    """One request as it reached the receiver, and whether its signature held."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers.get("Hub-Delivery", "")


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """Check a ``Hub-Signature`` header the way a receiver does: recompute the HMAC of
    ``"<t>.<body>"`` and compare in constant time; a timestamp too far off is refused."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if now is not None and abs(now - timestamp) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


@dataclass
class Step:
    status: int = 200
    delay: float = 0.0
    location: str | None = None


@dataclass
class Receiver:
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    check_time: bool = False  # the hub's clock is a fake one in most tests

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    step = receiver.steps.pop(0) if receiver.steps else Step()
                now = time.time() if receiver.check_time else None
                verified = verify(receiver.secret, self.headers.get("Hub-Signature", ""), body, now)
                with receiver.lock:
                    receiver.received.append(
                        Received(dict(self.headers.items()), body, verified, step.status)
                    )
                time.sleep(step.delay)
                try:
                    self.send_response(step.status)
                    if step.location:
                        self.send_header("Location", step.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the hub gave up waiting

            do_GET = do_PUT = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, *steps: Step) -> None:
        with self.lock:
            self.steps.extend(steps)

    def delivered(self) -> list[Received]:
        """The requests it accepted (2xx), in the order they arrived."""
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
