"""A local HTTP server on 127.0.0.1 answered by a daemon thread: the base of the fakes
(the local Auth0, the institution check). `start()` or `with Fake() as fake:`."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


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
