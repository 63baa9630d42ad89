"""Prometheus metrics at `/metrics` (ENABLE_PROMETHEUS_METRICS): requests by route and
status, and their latency.

Under `aai serve` the metrics describe the whole server, whichever worker answers the
scrape: `aai serve` gives every server a directory of its own (PROMETHEUS_MULTIPROC_DIR,
emptied when the server starts), where each worker process keeps its values in files of
its own (prometheus-client's multiprocess mode), and `/metrics` sums the files of every
worker, live or gone. A worker that dies leaves its files, so the server's counters never
go backwards; a restarted server starts from zero, which Prometheus's `rate()` expects.
Without that directory (an app built in-process, the tests) the values are the process's.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_collectors: dict[str, Any] = {}


def collectors() -> dict[str, Any]:
    """The process's collectors, created once (the registry refuses duplicates)."""
    if not _collectors:
        from prometheus_client import Counter, Histogram

        _collectors["requests"] = Counter(
            "aai_http_requests", "HTTP requests", ["method", "route", "status"]
        )
        _collectors["latency"] = Histogram(
            "aai_http_request_seconds", "HTTP request latency", ["method", "route"]
        )
    return _collectors


def install(app: FastAPI) -> None:
    """Count every request and serve `/metrics`."""
    from prometheus_client import make_asgi_app

    requests, latency = collectors()["requests"], collectors()["latency"]

    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    app.mount("/metrics", make_asgi_app(_registry()))


def _registry() -> Any:
    """The whole server's values in multiprocess mode, else the process's own."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@asynccontextmanager
async def worker_lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """In multiprocess mode, mark dead workers: on start the workers before this one that
    are gone (uvicorn replaces a worker that died), on shutdown this one. Marking removes
    their live gauges; their counters and histograms stay, so that the sums never go back."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        _mark_dead(directory)
    yield
    if directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def _mark_dead(directory: str) -> None:
    from prometheus_client import multiprocess

    for pid in _pids(directory):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid)
        except PermissionError:
            continue  # alive, as another user


def _pids(directory: str) -> set[int]:
    """The processes with files in `directory` (`<type>_<pid>.db`)."""
    names = (name.removesuffix(".db").rpartition("_")[2] for name in os.listdir(directory))
    return {int(pid) for pid in names if pid.isdigit()}
