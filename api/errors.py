"""AaiError (and request validation) to HTTP: one JSON shape, never a traceback.

Every error body is `{message, detail, ...}`: `detail` is the same text as `message` (the
string the portal shows), and validation errors add `field_errors: [{field, message}]`.

| error | status |
|---|---|
| request validation, malformed JSON, InvalidInput/UsageError | 400, with `field_errors` |
| a value the database cannot store (DataError, e.g. NUL on Postgres) | 400 |
| InvalidToken | 401 with `WWW-Authenticate: Bearer` |
| Forbidden | 403 |
| NotFound | 404 |
| Conflict, CheckFailed | 409 |
| an error with its own `http_status` (TooManyAttempts) | that status (429) |
| Auth0Error (a refusal that is not transient) | 502 |
| ServiceUnavailable (database, Auth0, SMTP), Busy | 503 |
| ConfigError (e.g. Auth0 refuses the management credentials) | 503 with its message |
| anything else | 500 `{message: "internal error"}` (logged with its traceback) |
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aai_cli import errors
from aai_cli.services.access.scopes import Forbidden
from aai_cli.services.auth0 import InvalidToken

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
    # raised while serving, a configuration error is the server's fault, not the caller's:
    # its message names the variables to fix and never a secret's value
    (errors.ConfigError, 503),
]


def status_for(exc: errors.AaiError) -> int:
    # an error may carry its own status (TooManyAttempts: 429)
    own = getattr(exc, "http_status", None)
    if isinstance(own, int):
        return own
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"message": message, "detail": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def _aai_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.AaiError)
    return aai_error_response(exc)


def aai_error_response(exc: errors.AaiError) -> JSONResponse:
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
    # an error that carries field_errors keeps them even when empty: the portal's
    # registration page reads `message` as an alert only when both keys are present
    return error_response(status, str(exc), **({} if fields is None else {"field_errors": fields}))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "invalid request", field_errors=errors.field_errors(exc.errors()))


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


class ErrorField(BaseModel):
    field: str = Field(description="the input at fault: a body field, a query parameter, `body`")
    message: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    message: str
    detail: str = Field(description="the same text as `message`: what the portal shows")
    field_errors: list[ErrorField] = Field(
        default_factory=list, description="on 400 (validation): one entry per input at fault"
    )


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def install_error_schema(app: FastAPI) -> None:
    """The OpenAPI document states the errors the API really answers: 400 with ErrorBody
    where FastAPI would declare its 422 HTTPValidationError, and ErrorBody on every error."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _declare_error_bodies(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _declare_error_bodies(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs"))
    schemas["ErrorBody"] = error_schema
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": "Invalid request"})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.AaiError, _aai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(InterfaceError, _database_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
