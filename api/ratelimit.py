"""Per-client-IP rate limits for the public routes: an in-memory token bucket per IP.

Each process keeps its own buckets (with N workers a client gets up to N times the rate,
which is fine for abuse control). The client IP is the connection's peer address; run
`aai serve --proxy-headers` behind a proxy so it is the real client's. Over the limit the
route answers 429 with `Retry-After` (whole seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

MAX_TRACKED_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`burst` requests at once, refilled at `per_minute`; one bucket per key."""

    def __init__(
        self, *, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def _make_room(self, now: float) -> None:
        """Forget clients whose bucket is full again; if none, the oldest ones."""
        if len(self._buckets) < MAX_TRACKED_CLIENTS:
            return
        refill = self.burst / self.rate
        idle = [k for k, b in self._buckets.items() if now - b.updated >= refill]
        if not idle:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            idle = by_age[: len(by_age) // 10 + 1]
        for key in idle:
            del self._buckets[key]


class RateLimit:
    """A FastAPI dependency: `Depends(RateLimit("registration", per_minute=5, burst=10))`.

    The buckets live on the app (`app.state`), so each app instance starts afresh.
    """

    def __init__(self, name: str, *, per_minute: float, burst: int) -> None:
        self.name = name
        self.per_minute = per_minute
        self.burst = burst

    def buckets(self, request: Request) -> TokenBuckets:
        state = request.app.state
        with _state_lock:
            registry = getattr(state, "rate_limits", None)
            if registry is None:
                registry = state.rate_limits = {}
            if self.name not in registry:
                registry[self.name] = TokenBuckets(per_minute=self.per_minute, burst=self.burst)
            return registry[self.name]

    def __call__(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        wait = self.buckets(request).take(client)
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail="too many requests: try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


_state_lock = threading.Lock()
