"""Management API user endpoints of the local Auth0 (/api/v2/users, /api/v2/users-by-email)."""

from __future__ import annotations

import re
from typing import Any

from aai_cli.localauth0.messages import (
    ApiError,
    Request,
    Response,
    body_error,
    offset_paging,
    projector,
    user_not_found,
)
from aai_cli.localauth0.query import QueryError, parse_query
from aai_cli.localauth0.store import CONNECTIONS, TenantStore

PAGING_CAP = 1000
PAGING_MESSAGE = (
    "You can only page through the first 1000 records. See "
    "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[A-Za-z0-9_+\-.!#$'^`~@]{1,128}$")
_SORT = re.compile(r"^([\w.]+):(1|-1)$")
_READ_ONLY = {"user_id", "created_at", "updated_at", "identities"}
# PATCH refuses these pairs in one request (email with password or username is documented;
# username with password is the local Auth0's choice, as the same rule).
_EXCLUSIVE_PAIRS = (("password", "email"), ("username", "email"), ("username", "password"))
_LENGTHS = {"name": (1, 300), "given_name": (1, 150), "family_name": (1, 150), "nickname": (1, 300)}


def list_users(store: TenantStore, req: Request) -> Response:
    query = req.query
    page, per_page, include_totals = offset_paging(query)
    engine = query.get("search_engine")
    if engine in {"v1", "v2"}:
        raise ApiError(
            400, f"You are not allowed to use search_engine={engine}.", "operation_not_supported"
        )
    if page * per_page + per_page > PAGING_CAP:
        raise ApiError(400, PAGING_MESSAGE, "invalid_paging")
    sort = None
    if query.get("sort"):
        match = _SORT.match(query["sort"])
        if not match:
            raise ApiError(
                400,
                "Query validation error: 'String does not match pattern ^(([a-zA-Z0-9_\\.]+))"
                "\\:(1|-1)$' on property sort (Field to sort by.).",
                "invalid_query_string",
            )
        sort = (match.group(1), int(match.group(2)))
    try:
        node = parse_query(query["q"]) if query.get("q") else None
    except QueryError as exc:
        raise ApiError(400, f"Bad query: {exc}", "invalid_query_string") from None
    total, users = store.search(node, sort, page * per_page, per_page)
    project = projector(query)
    items = [project(u) for u in users]
    if not include_totals:
        return Response(200, items)
    body = {"start": page * per_page, "limit": per_page, "length": len(items)}
    return Response(200, {**body, "users": items, "total": total})


def get_user(store: TenantStore, req: Request) -> Response:
    user = store.users.get(req.params["id"])
    if user is None:
        raise user_not_found()
    return Response(200, projector(req.query)(user))


def users_by_email(store: TenantStore, req: Request) -> Response:
    email = req.query.get("email")
    if not email:
        raise ApiError(
            400,
            "Query validation error: 'Missing required property: email' on property email.",
            "invalid_query_string",
        )
    project = projector(req.query)
    return Response(
        200, [project(u) for u in store.find("email", email) if u.get("email") == email]
    )


def delete_user(store: TenantStore, req: Request) -> Response:
    store.remove(req.params["id"])
    return Response(204)


def _check_email(email: Any) -> None:
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise body_error(
            f"Object didn't pass validation for format email: {email}' on property email "
            "(The user's email)"
        )


def _check_username(username: Any) -> None:
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise body_error(
            f"String does not match pattern: {username}' on property username "
            "(The user's username. Only valid if the connection requires a username)"
        )


def _check_length(name: str, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise body_error(f"Expected type string but found another type' on property {name}")
    if len(value) > high:
        raise body_error(
            f"String is too long ({len(value)} chars), maximum {high}' on property {name}"
        )
    if len(value) < low:
        raise body_error(f"String is too short (0 chars), minimum {low}' on property {name}")


def _taken(store: TenantStore, field: str, value: str, connection: str, user_id: str) -> bool:
    return any(
        u["user_id"] != user_id and store.connection_of(u) == connection
        for u in store.find(field, value)
    )


def create_user(store: TenantStore, req: Request, *, require_username: bool) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise body_error("Expected type object but found type array")
    connection = body.get("connection")
    if not connection:
        raise body_error("Missing required property: connection")
    info = CONNECTIONS.get(connection)
    if info is None:
        raise ApiError(400, "The connection does not exist.", "inexistent_connection")
    if info["social"]:
        raise ApiError(
            400, "Cannot create users for social connections.", "operation_not_supported"
        )
    if "email" not in body:
        raise body_error("Missing required property: email")
    _check_email(body["email"])
    if "username" in body:
        _check_username(body["username"])
    elif require_username:
        raise body_error("Missing required property: username")
    password = body.get("password")
    if not isinstance(password, str):
        raise body_error("Missing required property: password")
    if len(password) < 8:
        raise ApiError(400, "PasswordStrengthError: Password is too weak", "invalid_password")
    with store.lock:
        if _taken(store, "email", body["email"], connection, ""):
            raise ApiError(409, "The user already exists.", "auth0_idp_error")
        if "username" in body and _taken(store, "username", body["username"], connection, ""):
            raise ApiError(409, "The username provided is in use already.", "auth0_idp_error")
        fields = dict(body)
        if fields.get("user_id"):
            fields["user_id"] = f"auth0|{fields['user_id']}"
        user = store.insert(store.build_user(fields))
    return Response(201, user)


def update_user(store: TenantStore, req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise body_error("Expected type object but found type array")
    for first, second in _EXCLUSIVE_PAIRS:
        if first in body and second in body:
            raise ApiError(
                400, f"Cannot update {first} and {second} simultaneously", "invalid_body"
            )
    for name, (low, high) in _LENGTHS.items():
        _check_length(name, body.get(name), low, high)
    if "blocked" in body and not isinstance(body["blocked"], bool):
        raise body_error("Expected type boolean but found another type' on property blocked")
    if body.get("email") is not None:
        _check_email(body["email"])
    if body.get("username") is not None:
        _check_username(body["username"])
    if isinstance(body.get("password"), str) and len(body["password"]) < 8:
        raise ApiError(400, "PasswordStrengthError: Password is too weak", "invalid_password")
    with store.lock:
        user = store.users.get(req.params["id"])
        if user is None:
            raise user_not_found()
        connection = store.connection_of(user) or ""
        for field in ("email", "username"):
            value = body.get(field)
            if isinstance(value, str) and _taken(store, field, value, connection, user["user_id"]):
                raise ApiError(400, f"The specified new {field} already exists", "auth0_idp_error")
        changes = {k: v for k, v in body.items() if k not in _READ_ONLY}
        if "password" in changes:
            changes["last_password_reset"] = store.stamp()
        updated = store.replace(user["user_id"], changes)
    return Response(200, updated)
