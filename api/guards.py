"""Guards that run before the app reads a request body (pure ASGI middleware).

- `BodyLimit`: a body over MAX_BYTES is 413, as soon as Content-Length says so or the
  streamed body passes the limit, so a large body is never read whole.
- `TokenBeforeBody`: FastAPI reads and parses the body before any dependency runs, the
  bearer check included. For a request that carries a body to an authenticated route
  (`/me`, `/admin`), this checks the token first: without a valid one the answer is 401
  and the body is not read.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException

from aai_cli.errors import AaiError
from api.deps import get_caller
from api.errors import aai_error_response, error_response

AUTHENTICATED_PREFIXES = ("/me", "/admin")
# under /me but public: an Auth0 Action's session token authorises them, not a bearer
PUBLIC_PREFIXES = ("/me/migration/", "/me/email-verification/")

_bearer = HTTPBearer(auto_error=False)


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body reading lets it through unchanged."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is too large (at most {max_bytes} bytes)")


def _header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def _content_length(scope: dict) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed length before the app sees it


def carries_body(scope: dict) -> bool:
    return bool(_content_length(scope)) or _header(scope, b"transfer-encoding") is not None


class BodyLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:  # the app answered before reading on: nothing more to say
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        error = BodyTooLarge(self.max_bytes)
        await error_response(413, str(error.detail))(scope, receive, send)


def needs_token(path: str) -> bool:
    if path.startswith(PUBLIC_PREFIXES):
        return False
    return any(path == p or path.startswith(p + "/") for p in AUTHENTICATED_PREFIXES)


class TokenBeforeBody:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and carries_body(scope) and needs_token(scope["path"]):
            try:
                await _authenticate(scope)
            except AaiError as exc:
                await aai_error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _authenticate(scope: dict) -> None:
    """The routes' own bearer check (api.deps.get_caller), on the headers alone."""
    request = Request(scope)
    credentials = await _bearer(request)
    await get_caller(request, credentials)
