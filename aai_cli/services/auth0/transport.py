"""The wire under the Auth0 gateway: the client-credentials token, the process-wide rate
ceiling and the retry policy (429 until `x-ratelimit-reset`, 5xx, timeouts, dropped
connections), kept apart from the typed gateway in `services/auth0.py`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from aai_cli.errors import ConfigError

T = TypeVar("T")

TOKEN_REFRESH_MARGIN_S = 300
MAX_WAIT_S = 60.0


class RateLimiter:
    """A token bucket shared by every Management API call of the process.

    Besides the client-side ceiling it honours the server: when a response says
    `x-ratelimit-remaining: 0`, nobody sends again before `x-ratelimit-reset`.
    """

    def __init__(self, per_second: float, burst: float | None = None) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, burst if burst is not None else per_second)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(
                    self.capacity, self._tokens + (now - self._stamp) * self.per_second
                )
                self._stamp = now
                wait = self._paused_until - now
                if wait <= 0 and self._tokens >= 1:
                    self._tokens -= 1
                    return
                if wait <= 0:
                    wait = (1 - self._tokens) / self.per_second
            time.sleep(min(wait, MAX_WAIT_S))

    def pause_until_epoch(self, reset_epoch_s: float) -> None:
        """Hold every caller until the server's rate-limit window resets."""
        delay = min(max(reset_epoch_s - time.time(), 0.0), MAX_WAIT_S)
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + delay)


_limiters: dict[float, RateLimiter] = {}
_limiters_lock = threading.Lock()


def process_rate_limiter(per_second: float) -> RateLimiter:
    """One limiter per process (per configured ceiling), shared by every gateway."""
    with _limiters_lock:
        limiter = _limiters.get(per_second)
        if limiter is None:
            limiter = _limiters[per_second] = RateLimiter(per_second)
        return limiter


class TransientHttpError(Exception):
    """A failure worth retrying; `wait_s` is the server's hint, if any."""

    def __init__(
        self, message: str, *, status_code: int | None = None, wait_s: float | None = None
    ):
        super().__init__(message)
        self.status_code = status_code
        self.wait_s = wait_s


def rate_limit_wait(headers: httpx.Headers | dict | None) -> float | None:
    """Seconds to wait from `Retry-After` or `x-ratelimit-reset` (epoch seconds)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in dict(headers).items()}
    retry_after = lowered.get("retry-after")
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), MAX_WAIT_S)
        except ValueError:
            pass
    reset = lowered.get("x-ratelimit-reset")
    if reset is not None:
        try:
            return min(max(float(reset) - time.time(), 0.0), MAX_WAIT_S)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a gateway call is retried. Frozen: the gateway is shared by
    threads, so a different policy is swapped in whole, never edited in place."""

    max_attempts: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    deadline_s: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Exponential with full jitter: attempt 1 -> up to 0.2 s, then doubling."""
        ceiling = min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s)
        return ceiling * (0.5 + random.random() / 2)


@dataclass(kw_only=True, eq=False, repr=False)  # no repr: it would show the secret
class TokenProvider:
    """A cached, thread-safe client-credentials token, refreshed before expiry."""

    token_url: str
    audience: str
    client_id: str
    client_secret: str
    http: httpx.Client
    fetches: int = field(default=0, init=False)
    clock: Callable[[], float] = field(default=time.monotonic, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _token: str | None = field(default=None, init=False)
    _expires_at: float = field(default=0.0, init=False)

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                margin = min(TOKEN_REFRESH_MARGIN_S, lifetime / 10)
                self._expires_at = self.clock() + lifetime - margin
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        self.fetches += 1
        response = self.http.post(
            self.token_url,
            json={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "audience": self.audience,
            },
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientHttpError(
                f"token endpoint answered HTTP {response.status_code}",
                status_code=response.status_code,
                wait_s=rate_limit_wait(response.headers),
            )
        if response.status_code in (401, 403):
            raise ConfigError(
                f"Auth0 refused the management client credentials (HTTP {response.status_code}): "
                "check AUTH0_MANAGEMENT_ID, AUTH0_MANAGEMENT_SECRET and that the client may "
                "call the Management API"
            )
        if response.status_code != 200:
            raise ConfigError(f"Auth0 token request failed with HTTP {response.status_code}")
        body = response.json()
        return body["access_token"], float(body.get("expires_in") or 86400)


def call_with_retries(
    fn: Callable[[], T],
    *,
    classify: Callable[[BaseException], TransientHttpError | None],
    policy: RetryPolicy,
    on_give_up: Callable[[TransientHttpError, int], Exception],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn`, retrying what `classify` calls transient, within the policy's bounds."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as exc:
            transient = classify(exc)
            if transient is None:
                raise
            elapsed = time.monotonic() - started
            if attempt >= policy.max_attempts or elapsed >= policy.deadline_s:
                raise on_give_up(transient, attempt) from None
            wait = transient.wait_s
            if wait is None:
                wait = policy.backoff(attempt)
            else:
                wait += random.random() * 0.1
            sleep(min(wait, max(policy.deadline_s - elapsed, 0.0)))
