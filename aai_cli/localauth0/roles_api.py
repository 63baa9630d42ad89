"""Management API role endpoints of the local Auth0: roles, role members (checkpoint and
capped offset paging) and a user's roles."""

from __future__ import annotations

import base64
import bisect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aai_cli.localauth0.messages import (
    ApiError,
    Request,
    Response,
    body_error,
    int_param,
    offset_paging,
    role_not_found,
    user_not_found,
)
from aai_cli.localauth0.store import TenantStore, iso

OFFSET_CAP = 1000


def _role_view(role: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in role.items() if v is not None}


def list_roles(store: TenantStore, req: Request) -> Response:
    page, per_page, include_totals = offset_paging(req.query, per_page_min=1)
    name_filter = (req.query.get("name_filter") or "").lower()
    with store.lock:
        roles = [_role_view(r) for r in store.roles.values() if name_filter in r["name"].lower()]
    items = roles[page * per_page : page * per_page + per_page]
    if not include_totals:
        return Response(200, items)
    return Response(
        200, {"roles": items, "start": page * per_page, "limit": per_page, "total": len(roles)}
    )


def _require_role(store: TenantStore, role_id: str) -> dict[str, Any]:
    role = store.roles.get(role_id)
    if role is None:
        raise role_not_found()
    return role


def get_role(store: TenantStore, req: Request) -> Response:
    return Response(200, _role_view(_require_role(store, req.params["id"])))


def encode_cursor(stamp: str, user_id: str) -> str:
    return base64.b64encode(f"{stamp},{user_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True).decode()
        _, user_id = text.split(",", 1)
    except ValueError:
        raise ApiError(400, "Invalid 'from' parameter.", "invalid_query_string") from None
    return user_id


def role_users(store: TenantStore, req: Request) -> Response:
    query = req.query
    role = _require_role(store, req.params["id"])
    if "take" in query or "from" in query:
        return _checkpoint_page(store, role["id"], query)
    page, per_page, include_totals = offset_paging(query, per_page_min=1)
    if page * per_page + per_page > OFFSET_CAP:
        raise ApiError(
            400,
            f"Requesting page {page} exceeds the allowed maximum of 1000 records. To fetch "
            "results beyond 1000, use the checkpoint pagination method.",
        )
    with store.lock:
        members = store.members_sorted(role["id"])
        items = [store.member_item(u) for u in members[page * per_page : (page + 1) * per_page]]
        total = len(members)
    if not include_totals:
        return Response(200, items)
    return Response(
        200, {"users": items, "start": page * per_page, "limit": per_page, "total": total}
    )


def _checkpoint_page(store: TenantStore, role_id: str, query: dict[str, str]) -> Response:
    take = int_param(query, "take", 50, minimum=1, maximum=100, description="Number of results")
    cursor = query.get("from")
    with store.lock:
        members = store.members_sorted(role_id)
        start = bisect.bisect_right(members, decode_cursor(cursor)) if cursor else 0
        chunk = members[start : start + take]
        items = b",".join(store.member_json(u) for u in chunk)
        more = bool(chunk) and start + take < len(members)
    body = b'{"users":[' + items + b"]"
    if more:
        body += b',"next":"' + encode_cursor(iso(datetime.now(UTC)), chunk[-1]).encode() + b'"'
    return Response(200, body + b"}")


def _role_ids(store: TenantStore, req: Request) -> list[str]:
    body = req.json()
    roles = body.get("roles") if isinstance(body, dict) else None
    if roles is None:
        raise body_error("Missing required property: roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise body_error("Array is too short (0), minimum 1' on property roles")
    for role_id in roles:
        _require_role(store, role_id)
    return roles


def user_roles(store: TenantStore, req: Request) -> Response:
    user_id = req.params["id"]
    if user_id not in store.users:
        raise user_not_found()
    page, per_page, include_totals = offset_paging(req.query)
    roles = [_role_view(r) for r in store.roles_of(user_id)]
    items = roles[page * per_page : page * per_page + per_page]
    if not include_totals:
        return Response(200, items)
    return Response(
        200, {"roles": items, "start": page * per_page, "limit": per_page, "total": len(roles)}
    )


def assign_user_roles(store: TenantStore, req: Request) -> Response:
    return _change_user_roles(store, req, store.assign)


def remove_user_roles(store: TenantStore, req: Request) -> Response:
    return _change_user_roles(store, req, store.unassign)


def _change_user_roles(
    store: TenantStore, req: Request, change: Callable[[str, list[str]], Any]
) -> Response:
    """POST or DELETE /users/{id}/roles: `change` (assign or unassign) the body's roles."""
    with store.lock:
        if req.params["id"] not in store.users:
            raise user_not_found()
        change(req.params["id"], _role_ids(store, req))
    return Response(204)


def assign_role_users(store: TenantStore, req: Request) -> Response:
    body = req.json()
    users = body.get("users") if isinstance(body, dict) else None
    if not isinstance(users, list) or not users:
        raise body_error("Missing required property: users")
    with store.lock:
        role = _require_role(store, req.params["id"])
        if any(u not in store.users for u in users):
            raise user_not_found()
        for user_id in users:
            store.assign(user_id, [role["id"]])
    return Response(200, {})
