"""Held answers of the local Auth0: a slow Auth0 whose slowness the test controls.

`fake.hold("POST", r"/api/v2/users/[^/]+/roles")` makes every matching request wait before
it is answered, until the test calls `release()`. The test awaits the requests with
`wait_arrivals(n)` (no sleeps), looks at what the code under test holds meanwhile (locks,
open transactions), then releases. A hold that is never released lets its requests go
after `timeout_s`, so a failing test does not hang.
"""

from __future__ import annotations

import re
import threading


class HeldAnswer:
    def __init__(self, method: str, path: str, *, timeout_s: float = 60.0) -> None:
        self.method = method
        self.pattern = re.compile(path)
        self.timeout_s = timeout_s
        self.arrived = 0
        self._arrival = threading.Condition()
        self._released = threading.Event()

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.fullmatch(path) is not None

    def wait_here(self) -> None:
        """Called by the server thread of a matching request."""
        with self._arrival:
            self.arrived += 1
            self._arrival.notify_all()
        self._released.wait(self.timeout_s)

    def wait_arrivals(self, n: int = 1, timeout_s: float = 30.0) -> bool:
        """Whether `n` matching requests are waiting (or have waited) within `timeout_s`."""
        with self._arrival:
            return self._arrival.wait_for(lambda: self.arrived >= n, timeout_s)

    def release(self) -> None:
        self._released.set()
