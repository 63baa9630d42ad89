"""Request/response values and the small helpers the local Auth0's endpoints share:
Auth0's error body, query-parameter validation with Auth0's messages, field projection."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

_PER_PAGE = "Number of results per page. Defaults to 50."


@dataclass
class Request:
    method: str
    path: str  # raw (still percent-encoded), without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # decoded path parameters

    def json(self) -> Any:
        """The body as JSON, or form fields; raises ApiError(400) when unparseable."""
        if not self.body:
            return {}
        content_type = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Invalid request payload JSON format", "invalid_body") from None


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encoded(self) -> bytes:
        if self.status == 204 or self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


class ApiError(Exception):
    """Raised inside a handler; becomes Auth0's error body."""

    def __init__(
        self, status: int, message: str, error_code: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.extra = extra

    def response(self) -> Response:
        body = error_body(self.status, self.message, self.error_code)
        return Response(self.status, {**body, **self.extra})


def error_body(status: int, message: str, error_code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if error_code:
        body["errorCode"] = error_code
    return body


def user_not_found() -> ApiError:
    return ApiError(404, "The user does not exist.", "inexistent_user")


def role_not_found() -> ApiError:
    return ApiError(404, "The role does not exist.")


def int_param(
    query: dict[str, str],
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    description: str = "",
) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            f"Query validation error: 'Expected type integer but found type string' "
            f"on property {name} ({description}).",
            "invalid_query_string",
        ) from None
    if value < minimum:
        raise ApiError(
            400,
            f"Query validation error: 'Value {value} is less than minimum {minimum}' "
            f"on property {name} ({description}).",
            "invalid_query_string",
        )
    if maximum is not None and value > maximum:
        raise ApiError(
            400,
            f"Query validation error: 'Value {value} is greater than maximum {maximum}' "
            f"on property {name} ({description}).",
            "invalid_query_string",
        )
    return value


def bool_param(query: dict[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise ApiError(
        400,
        f"Query validation error: 'Expected type boolean but found type string' "
        f"on property {name}.",
        "invalid_query_string",
    )


def offset_paging(query: dict[str, str], *, per_page_min: int = 0) -> tuple[int, int, bool]:
    """`page`, `per_page` and `include_totals` of an offset-paged list, checked as Auth0 does."""
    page = int_param(query, "page", 0, description="Page index of the results to return.")
    per_page = int_param(
        query, "per_page", 50, minimum=per_page_min, maximum=100, description=_PER_PAGE
    )
    return page, per_page, bool_param(query, "include_totals", False)


def projector(query: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function applying `fields`/`include_fields` to a user dict."""
    raw = query.get("fields")
    if not raw:
        return lambda user: user
    names = [f.strip() for f in raw.split(",") if f.strip()]
    if bool_param(query, "include_fields", True):
        return lambda user: {k: user[k] for k in names if k in user}
    excluded = set(names)
    return lambda user: {k: v for k, v in user.items() if k not in excluded}


def body_error(message: str) -> ApiError:
    return ApiError(400, f"Payload validation error: '{message}'.", "invalid_body")
