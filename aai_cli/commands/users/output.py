"""Shapes of `aai users` output: table rows, flat CSV rows and JSON lines of user records.

Only the standard library at top level (command modules load fast).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

CSV_COLUMNS = (
    "id",
    "email",
    "username",
    "name",
    "email_verified",
    "blocked",
    "created_at",
    "updated_at",
    "deleted_at",
    "platforms",
    "groups",
)
TABLE_COLUMNS = ("id", "email", "username", "verified", "platforms", "groups")


def short_group(group_id: str) -> str:
    from aai_cli.models import GROUP_PREFIX

    return group_id.removeprefix(GROUP_PREFIX)


def badges(memberships: list[dict[str, Any]], key: str) -> str:
    """`galaxy:approved sbp:pending` (groups without the `biocommons/group/` prefix)."""
    return " ".join(f"{short_group(m[key])}:{m['status']}" for m in memberships)


def table_row(record: Any) -> tuple[Any, ...]:
    return (
        record.id,
        record.email,
        record.username,
        "yes" if record.email_verified else "no",
        badges(record.platform_memberships, "platform_id"),
        badges(record.group_memberships, "group_id"),
    )


def csv_row(record: Any) -> dict[str, Any]:
    """A flat row: memberships as `id:status` joined by `;` (full group ids)."""
    row = {name: getattr(record, name) for name in CSV_COLUMNS[:-2]}
    row["platforms"] = ";".join(
        f"{m['platform_id']}:{m['status']}" for m in record.platform_memberships
    )
    row["groups"] = ";".join(f"{m['group_id']}:{m['status']}" for m in record.group_memberships)
    return row


MEMBERSHIP_COLUMNS = ("kind", "id", "status", "updated", "reason", "request reason")


def membership_rows(record: Any) -> list[tuple[Any, ...]]:
    items = [("platform", m["platform_id"], m) for m in record.platform_memberships]
    items += [("group", m["group_id"], m) for m in record.group_memberships]
    return [
        (kind, id_, m["status"], display(m["updated_at"]), m["reason"], m["request_reason"])
        for kind, id_, m in items
    ]


def display(value: Any) -> Any:
    """A cell for a table: timestamps to the second, in UTC."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return value


EVENT_FIELDS = (
    "created_at",
    "platform_id",
    "group_id",
    "from_status",
    "to_status",
    "actor",
    "reason",
)


def event_dict(event: Any) -> dict[str, Any]:
    """A membership event as `aai users show --json` lists it."""
    return {name: getattr(event, name) for name in EVENT_FIELDS}


def identity_row(event: dict[str, Any]) -> tuple[Any, ...]:
    """An identity change (`accounts.event_dict`) as a row of `aai users show`."""
    return (
        event["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
        event["kind"],
        display(event["old_value"]),
        display(event["new_value"]),
        event["actor"],
        display(event["reason"]),
    )


def event_row(event: Any) -> tuple[Any, ...]:
    target = event.platform_id or short_group(event.group_id or "")
    return (
        event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        target,
        event.from_status or "-",
        event.to_status,
        event.actor,
        event.reason,
    )


def human_age(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    days, rest = divmod(max(seconds, 0), 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"
