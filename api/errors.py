"""AaiError (and request validation) to HTTP: one JSON shape, `{message, ..., detail}`, never a
traceback.

| error | status |
|---|---|
| request validation, malformed JSON, InvalidInput/UsageError | 400 `{message, field_errors}` |
| a value the database cannot store (DataError, e.g. NUL on Postgres) | 400 |
| InvalidToken | 401 with `WWW-Authenticate: Bearer` |
| Forbidden | 403 |
| NotFound | 404 |
| Conflict, CheckFailed | 409 |
| Auth0Error (a refusal that is not transient) | 502 |
| ServiceUnavailable (database, Auth0, SMTP), Busy | 503 |
| anything else | 500 `{message: "internal error"}` (logged with its traceback) |
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aai_cli import errors
from aai_cli.services.access import Forbidden
from aai_cli.services.tokens import InvalidToken

log = logging.getLogger("aai.api")

STATUS_BY_ERROR: list[tuple[type[errors.AaiError], int]] = [
    (InvalidToken, 401),
    (Forbidden, 403),
    (errors.UsageError, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.CheckFailed, 409),
    (errors.Auth0Error, 502),
    (errors.ServiceUnavailable, 503),
    (errors.Busy, 503),
]


def status_for(exc: errors.AaiError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    """`{message, ...extra, detail}`: `detail` repeats the message as a string (what the
    portal shows on most routes)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"message": message, **extra}
    body.setdefault("detail", message)
    return JSONResponse(body, status_code=status, headers=headers)


async def _aai_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.AaiError)
    status = status_for(exc)
    if status == 500:
        log.error("unhandled %s: %s", type(exc).__name__, exc)
        return error_response(500, "internal error")
    # an error may name its fields (registration): `field_errors` = [{field, message}]
    fields = getattr(exc, "field_errors", None)
    if status == 400:
        return error_response(400, str(exc), field_errors=fields or [])
    if status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc)
    return error_response(status, str(exc), **({} if fields is None else {"field_errors": fields}))


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    result = []
    for error in exc.errors():
        location = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
        if error.get("type") == "json_invalid":
            result.append({"field": "body", "message": "malformed JSON"})
            continue
        result.append({"field": ".".join(location) or "body", "message": error.get("msg", "")})
    return result


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "invalid request", field_errors=field_errors(exc))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return error_response(503, "the database is unavailable")


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # e.g. a NUL byte in a text value on PostgreSQL: the input is at fault, not the server.
    return error_response(400, "invalid input: a value the database cannot store", field_errors=[])


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.AaiError, _aai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(InterfaceError, _database_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
