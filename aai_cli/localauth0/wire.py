"""Wire-level pieces of the local Auth0: the HTTP/1.1 keep-alive request handler (one write
per response, Nagle off), the token-bucket rate limiter and the request log record."""

from __future__ import annotations

import math
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from aai_cli.localauth0.messages import Request


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int


class TokenBucket:
    """Auth0-style rate limit: `burst` tokens, refilled at `per_second`."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.rate = per_second
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.time()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = time.time()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            allowed = self.tokens >= 1
            if allowed:
                self.tokens -= 1
            missing = (self.burst - self.tokens) if allowed else (1 - self.tokens)
            reset = math.ceil(now + missing / self.rate)
            return allowed, {
                "x-ratelimit-limit": str(self.burst),
                "x-ratelimit-remaining": str(int(self.tokens)),
                "x-ratelimit-reset": str(reset),
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-auth0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fake = self.server.fake  # type: ignore[attr-defined]  # set on FakeHTTPServer by start()
        response = fake.handle(req)
        if response is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encoded()
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        headers = {"Date": self.date_time_string(), **response.headers}
        if response.status != 204:
            headers["Content-Type"] = response.content_type
            headers["Content-Length"] = str(len(payload))
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_OPTIONS = _serve


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class FakeHTTPServer(ThreadingHTTPServer):
    """A thread per connection, daemon threads, and a listen backlog deep enough for bursts
    of concurrent connections (the default of 5 makes extra SYNs wait a second)."""

    daemon_threads = True
    request_queue_size = 128
