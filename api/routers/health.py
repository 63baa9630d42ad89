"""Liveness, readiness and the service's name: for containers and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aai_cli import __version__
from aai_cli.db import is_sqlite_url, sqlite_path
from aai_cli.errors import AaiError, DatabaseUnavailable
from aai_cli.services.schema import migrations

router = APIRouter(tags=["health"])


# `async def`: no I/O, so they answer on the event loop even when every worker thread is
# busy (e.g. waiting on Auth0).
@router.get("/", summary="Name and version")
async def root() -> dict[str, str]:
    return {"name": "aai-backend", "version": __version__}


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and its schema is at head")
def readyz(request: Request) -> JSONResponse:

    url = request.app.state.settings.database_url
    try:
        _sqlite_file_answers(url)
        status = migrations.current(url)  # on PostgreSQL the pool pings the server first
    except AaiError as exc:
        return _not_ready(str(exc))
    if not status.at_head:
        return _not_ready(
            f"the schema is at {status.describe_current()}, head is {', '.join(status.heads)}"
        )
    return JSONResponse({"status": "ok", "revision": status.current})


def _sqlite_file_answers(url: str) -> None:
    """A fresh, read-only connection reads the SQLite file: a pooled one keeps reading a
    file that was deleted, and a read-write one would create an empty file in its place."""
    import sqlite3

    path = sqlite_path(url) if is_sqlite_url(url) else None
    if path is None:
        return
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"the SQLite database cannot be read: {exc}") from None


def _not_ready(detail: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
