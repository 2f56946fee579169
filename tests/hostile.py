"""A server an attacker controls, for tests that mount an attack the way it is made.

:class:`Upstream` is a real ``ThreadingHTTPServer`` on 127.0.0.1: it records every request it
receives (method, path, headers, body) and answers what the test scripts, path by path — a
provider's API, a token endpoint, a page with a script. Tests assert on what reached it (a client
secret, a credential, nothing at all), not on what the hub meant to send.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    length: bool = True  # send Content-Length; without it the body ends when the server closes


@dataclass
class Seen:
    """One request as it reached the server."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def __getitem__(self, key: str) -> Any:  # seen["path"], as a dict would answer
        return getattr(self, key)

    @property
    def form(self) -> dict[str, str]:
        """The body as form fields (token requests)."""
        return dict(parse_qsl(self.body.decode("latin-1")))

    def carries(self, secret: str) -> bool:
        """Whether ``secret`` appears anywhere in what was received (path, headers, body)."""
        text = self.path + "\n" + jsonlib.dumps(self.headers) + "\n"
        return secret in text or secret.encode() in self.body


class Upstream:
    """A hostile (or honest) server: answers scripted per path, every request recorded.

    Paths are scripted under ``/base/`` (``answer("v1/me", ...)`` answers ``/base/v1/me``), and
    :attr:`base` is ``http://127.0.0.1:<port>/base``; anything not scripted answers 404.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answers: dict[str, Answer | Callable[[Seen], Answer]] = {}
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                upstream.seen.append(seen)
                answer = upstream.answers.get(self.path.split("?", 1)[0], Answer(404))
                if callable(answer):
                    answer = answer(seen)
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.status != 304 and answer.length:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD" and answer.status != 304:
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_one

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.origin}/base"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, *, json: Any = None, **kwargs: Any) -> None:
        """Answer ``/base/{path}`` with ``Answer(**kwargs)``, or with ``json`` as the body."""
        if json is not None:
            kwargs["body"] = jsonlib.dumps(json).encode()
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        self.answers[f"/base/{path}"] = Answer(**kwargs)

    def answer_with(self, path: str, make: Callable[[Seen], Answer]) -> None:
        """Answer ``/base/{path}`` with what ``make`` returns for the request (an echo)."""
        self.answers[f"/base/{path}"] = make

    def received(self, secret: str) -> bool:
        """Whether any request carried ``secret``."""
        return any(request.carries(secret) for request in self.seen)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
