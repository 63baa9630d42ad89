"""Liveness, readiness and the service's name: for containers and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aai_cli import __version__
from aai_cli.errors import AaiError

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
    from aai_cli.services import schema

    try:
        status = schema.current(request.app.state.settings.database_url)
    except AaiError as exc:
        return _not_ready(str(exc))
    if not status.at_head:
        return _not_ready(
            f"the schema is at {status.describe_current()}, head is {', '.join(status.heads)}"
        )
    return JSONResponse({"status": "ok", "revision": status.current})


def _not_ready(detail: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
