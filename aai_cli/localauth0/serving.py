"""A local HTTP server on 127.0.0.1 answered by a daemon thread: the base of the local Auth0
and of the tests' other local services (institution check, reCAPTCHA verify), with
`QuietHandler` for their requests and `JsonHandler` for those that answer JSON.
`start()` or `with Server() as server:`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# (method, path with query, body) -> (status, JSON body)
Answer = Callable[[str, str, bytes], tuple[int, Any]]


class LocalServer:
    """Subclasses build their `ThreadingHTTPServer` in `start()` and hand it to `_serve`."""

    _server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def _serve(self, server: ThreadingHTTPServer, *, poll_interval: float = 0.5) -> Self:
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`."""
        assert self._server is not None, f"{type(self).__name__} is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler of a local server: no access log, and whole bodies sent at once."""

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class JsonHandler(QuietHandler):
    """A request handler that hands GET and POST to an `Answer` and writes its JSON."""

    answer: Answer

    @classmethod
    def answering(cls, answer: Answer) -> type[JsonHandler]:
        return type("Handler", (cls,), {"answer": staticmethod(answer)})

    def do_GET(self) -> None:
        self._reply(*self.answer("GET", self.path, b""))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(*self.answer("POST", self.path, self.rfile.read(length)))

    def _reply(self, status: int, body: Any) -> None:
        self.send_body(status, json.dumps(body).encode(), "application/json")
