"""Rate limits for the public routes, counted in the database for every worker and replica
(`aai_cli.services.ratelimits`): one upsert per limited request, nothing on other routes.

The key is the client IP, the connection's peer address; behind a proxy,
`aai serve --proxy-headers` makes it the right-most X-Forwarded-For entry that is not one
of the trusted proxies (FORWARDED_ALLOW_IPS), so a client cannot choose its key. Routes
may also count per user (`check(request, user_id)`). Over the limit the route answers 429
with `Retry-After` (whole seconds); when the database cannot count, 503.
"""

from __future__ import annotations

import math

from fastapi import HTTPException, Request

from aai_cli.services import ratelimits


class RateLimit:
    """A FastAPI dependency: `Depends(RateLimit("registration", per_minute=5, burst=10))`.

    Sync on purpose: FastAPI runs it in the thread pool, where the database call belongs.
    """

    def __init__(self, name: str, *, per_minute: float, burst: int) -> None:
        self.limit = ratelimits.Limit(name, per_minute=per_minute, burst=burst)

    @property
    def burst(self) -> int:
        return self.limit.burst

    def __call__(self, request: Request) -> None:
        self.check(request, request.client.host if request.client else "unknown")

    def check(self, request: Request, key: str) -> None:
        """Count one hit for `key` (a client address, a user id); 429 over the limit."""
        wait = ratelimits.hit(self.limit, key, url=request.app.state.settings.database_url)
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail="too many requests: try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
