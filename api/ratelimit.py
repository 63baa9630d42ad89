"""Per-client-IP rate limits for the public routes: an in-memory token bucket per IP.

Each process keeps its own buckets (with N workers a client gets up to N times the rate,
which is fine for abuse control). The client IP is the connection's peer address; behind
a proxy, `aai serve --proxy-headers` makes it the right-most X-Forwarded-For entry that is
not one of the trusted proxies (FORWARDED_ALLOW_IPS), so a client cannot choose its key.
Over the limit the route answers 429 with `Retry-After` (whole seconds).

The table of buckets is bounded. When it is full, only clients whose bucket is full again
(idle for a whole refill) are forgotten, which loses nothing; a client that has spent
tokens is never forgotten, so it cannot start afresh. Clients the full table cannot take
share one overflow bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
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
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        # least recently used first: the idle entries are at the front
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._overflow = _Bucket(float(burst), clock())
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            bucket = self._bucket_for(key, now)
            self._refill(bucket, now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def _bucket_for(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is not None:
            self._buckets.move_to_end(key)
            return bucket
        if len(self._buckets) >= self.max_keys:
            self._forget_idle(now)
        if len(self._buckets) >= self.max_keys:
            return self._overflow
        # A newcomer gets no more than the overflow bucket holds: a client that spent the
        # shared tokens does not start afresh when room appears.
        self._refill(self._overflow, now)
        bucket = self._buckets[key] = _Bucket(self._overflow.tokens, now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        """Forget the clients whose bucket is full again (untouched for a whole refill)."""
        refill_s = self.burst / self.rate
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated < refill_s:
                return  # the oldest is still refilling, so is every later one
            self._buckets.popitem(last=False)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now


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
        self.check(request, request.client.host if request.client else "unknown")

    def check(self, request: Request, key: str) -> None:
        """Count one hit for `key` (a client address, a user id); 429 over the limit."""
        wait = self.buckets(request).take(key)
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail="too many requests: try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


_state_lock = threading.Lock()
