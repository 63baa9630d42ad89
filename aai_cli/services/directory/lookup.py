"""Finding one user or one catalog target from what an operator typed, with close matches
when nothing fits (exit 4). Shared by `aai users` and the API through `services.directory`."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, union_all
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from aai_cli.errors import InvalidInput, NotFound, UsageError
from aai_cli.models import (
    GROUP_PREFIX,
    Group,
    IdentityEvent,
    Platform,
    Target,
    User,
    table_of,
)

U = table_of(User)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- one user ----------------------------------------------------------------------


def resolve_user(session: Session, ident: str) -> User:
    """The user named by an Auth0 id, an email or a username.

    A live row wins over soft-deleted ones; several live (or only several deleted) rows
    are ambiguous. Not found or ambiguous: NotFound (exit 4) with close matches or ids.
    """
    ident = ident.strip()
    if not ident:
        raise InvalidInput("USER is empty (give an Auth0 id, an email or a username)")
    by_id = session.get(User, ident)
    if by_id is not None:
        return by_id
    matches = _users_where(session, or_(U.c.email == ident, U.c.username == ident))
    if not matches:
        matches = _users_where(
            session,
            or_(func.lower(U.c.email) == ident.lower(), func.lower(U.c.username) == ident.lower()),
        )
    live = [u for u in matches if u.deleted_at is None]
    candidates = live or matches
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        ids = ", ".join(sorted(u.id for u in candidates))
        raise NotFound(f"{ident!r} matches several users: {ids}", hint="give the Auth0 id")
    similar = close_user_matches(session, ident)
    hint = f"did you mean: {', '.join(similar)}" if similar else None
    raise NotFound(f"no user {ident!r} (by id, email or username)", hint=hint)


def _users_where(session: Session, condition: ColumnElement[bool]) -> list[User]:
    return list(session.exec(orm_select(User).where(condition).order_by(User.id)).all())


def close_user_matches(session: Session, ident: str, *, limit: int = 5) -> list[str]:
    """Emails/usernames/ids resembling `ident`: candidates by substring of its core, then
    by its first three and two letters, ranked by similarity."""
    core = escape_like(ident.split("@")[0].split("|")[-1])
    for pattern in (f"%{core}%", f"{core[:3]}%", f"{core[:2]}%"):
        if len(pattern.strip("%")) < 2:
            continue
        stmt = (
            select(U.c.id, U.c.email, U.c.username)
            .where(or_(*(U.c[n].ilike(pattern, escape="\\") for n in ("email", "username", "id"))))
            .limit(200)
        )
        names = sorted(
            {
                value
                for row in session.connection().execute(stmt)
                for value in (row.email, row.username, row.id)
                if value
            }
        )
        similar = difflib.get_close_matches(ident, names, n=limit, cutoff=0.4)
        if similar:
            return similar
    return []


# --- targets -----------------------------------------------------------------------


def resolve_target(session: Session, *, platform: str | None, group: str | None) -> Target:
    """Exactly one of --platform / --group, resolved against the catalog."""
    if (platform is None) == (group is None):
        raise UsageError("give exactly one of --platform or --group")
    if platform is not None:
        return Target("platform", resolve_platform(session, platform))
    return Target("group", resolve_group(session, group or ""))


def resolve_platform(session: Session, value: str) -> str:
    if session.get(Platform, value) is not None:
        return value
    ids = [p.id for p in session.exec(_all(Platform))]
    raise _unknown("platform", value, ids)


def resolve_group(session: Session, value: str) -> str:
    """A group by id, by the part after `biocommons/group/`, or by short name."""
    groups = list(session.exec(_all(Group)))
    for group in groups:
        if value in (group.id, group.id.removeprefix(GROUP_PREFIX)) or (
            value.lower() == group.short_name.lower()
        ):
            return group.id
    raise _unknown("group", value, [g.id for g in groups])


def _all(model: Any) -> Any:
    return orm_select(model).order_by(model.id)


def _unknown(kind: str, value: str, known: list[str]) -> NotFound:
    names = known + [k.removeprefix(GROUP_PREFIX) for k in known if k.startswith(GROUP_PREFIX)]
    similar = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
    hint = f"did you mean: {', '.join(similar)}" if similar else f"known: {', '.join(known)}"
    return NotFound(f"unknown {kind}: {value}", hint=hint)


def filter_options(session: Session) -> list[tuple[str, str]]:
    """(id, name) of every platform, then every group still offered by its last part,
    each kind in the order the catalog introduced them: values `UserQuery.filter_by`
    takes (a retired group's last part too, for the memberships it keeps)."""
    platforms, groups = table_of(Platform), table_of(Group)
    stmt = union_all(
        select(literal(0).label("rank"), platforms.c.id, platforms.c.name, platforms.c.created_at),
        select(literal(1), groups.c.id, groups.c.name, groups.c.created_at).where(
            groups.c.retired_at.is_(None)
        ),
    ).order_by("rank", "created_at", "id")
    return [
        (target_id.removeprefix(GROUP_PREFIX), name)
        for _, target_id, name, _ in session.connection().execute(stmt)
    ]


def in_identity_history(
    session: Session,
    kind: str,
    value: str,
    *,
    user_id: str | None = None,
    own_former: bool = False,
) -> bool:
    """`value` (case-insensitive) was a `kind` (username, email) before or after an identity
    change of another account than `user_id` (of any account when None); with
    `own_former`, also one of `user_id`'s own former values. Such values stay reserved."""
    wanted = value.strip().lower()
    used = or_(
        func.lower(IdentityEvent.old_value) == wanted,
        func.lower(IdentityEvent.new_value) == wanted,
    )
    scope: ColumnElement[bool] = used
    if user_id is not None:
        scope = and_(col(IdentityEvent.user_id) != user_id, used)
        if own_former:
            own = and_(
                col(IdentityEvent.user_id) == user_id, func.lower(IdentityEvent.old_value) == wanted
            )
            scope = or_(scope, own)
    query = orm_select(IdentityEvent.id).where(IdentityEvent.kind == kind, scope).limit(1)
    return session.exec(query).first() is not None
