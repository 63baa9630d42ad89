"""The caller's own view: profile, memberships and requests (the `/me` routes).

Everything is answered from the database; Auth0 is asked only once, the first time a
caller is seen before the sync has brought their row (`fetch_identity`, then `adopt`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, cast
from urllib.parse import quote

from sqlalchemy import Select, literal, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from aai_cli.errors import Conflict, InvalidInput, NotFound
from aai_cli.models import TARGET_TABLES, Group, Kind, Target, User, table_of, utcnow
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.access import notifications
from aai_cli.services.access.institutions import INSTITUTIONAL_EMAIL_REQUIRED, INSTITUTIONAL_GROUPS
from aai_cli.services.access.memberships import get_membership, transition
from aai_cli.services.access.results import TransitionResult
from aai_cli.services.access.scopes import Forbidden


class UserSource(Protocol):
    """Where a first-seen caller's identity comes from (the Auth0 gateway)."""

    def get_user(self, user_id: str) -> Any: ...


def get_own_row(session: Session, user_id: str) -> User | None:
    """The caller's row, soft-deleted or not: a soft-deleted caller may still read their
    profile, but not act (`require_active`). Only the sync brings a deleted row back."""
    return session.get(User, user_id)


def fetch_identity(user_id: str, *, source: UserSource | None) -> Any:
    """A caller seen for the first time, from Auth0. Reads no database: call it with no
    transaction open, then `adopt` the answer in a short transaction."""
    if source is None:
        raise NotFound("your account is not in the database yet; try again after the sync")
    remote = source.get_user(user_id)
    if remote is None:
        raise NotFound("your account does not exist in Auth0")
    return remote


def adopt(session: Session, user_id: str, remote: Any) -> User:
    """Create the row of a caller seen for the first time. A row written meanwhile (by the
    sync or a concurrent first sight) wins and is returned as it is."""
    existing = session.get(User, user_id)
    if existing is not None:
        return existing
    user = User(id=user_id, synced_at=utcnow())
    for name in AUTH0_PROFILE_FIELDS:
        value = getattr(remote, name, None)
        if value is not None:
            setattr(user, name, value)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        # Another request (or the sync) created the row at the same moment.
        found = session.get(User, user_id, populate_existing=True)
        if found is None:  # e.g. a stale row still holds this username
            raise Conflict(
                "your account clashes with another record in the database; "
                "the next sync resolves it"
            ) from None
        return found
    return user


def require_active(user: User) -> User:
    """The caller may act (request access, change anything of theirs): not blocked in
    Auth0, not deleted."""
    if user.deleted_at is not None:
        raise Forbidden(
            "your account has been deleted: it cannot request access or change anything"
        )
    if user.blocked:
        raise Forbidden("your account is blocked: it cannot request access or change anything")
    return user


# The only platforms the portal can draw (any other id breaks its profile page).
PORTAL_PLATFORMS = ("galaxy", "bpa_data_portal", "sbp")
# kind -> the only ids the profile shows (every group it has).
LIVE_TARGETS: dict[Kind, tuple[str, ...]] = {"platform": PORTAL_PLATFORMS}
# Set by the Auth0 login Action for a user who has just moved from the legacy password store.
WELCOME_CLAIM = "https://biocommons.org.au/show_migration_welcome"


def profile(
    session: Session, user: User, *, claims: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The caller's profile as the portal shows it: revoked memberships left out.

    `claims` are the caller's token claims (for the migration welcome flag).
    """
    platforms, groups = list_mine(session, user.id, live_only=True)
    welcome = (claims or {}).get(WELCOME_CLAIM)
    return {
        "user_id": user.id,
        "name": full_name(user),
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email or "",
        "email_verified": user.email_verified,
        "username": user.username or "",
        "picture": picture_url(user),
        "show_welcome_message": welcome if isinstance(welcome, bool) else None,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login": user.last_login,
        "platform_memberships": platforms,
        "group_memberships": groups,
    }


def full_name(user: User) -> str:
    both = " ".join(n for n in (user.given_name, user.family_name) if n)
    return user.name or both or user.username or user.email or user.id


def picture_url(user: User) -> str:
    """The Auth0 picture when the mirror has one, else the default Auth0 itself gives: a
    Gravatar for the email falling back to an initials avatar (no network call here)."""
    if user.picture:
        return user.picture
    initials = f"https://cdn.auth0.com/avatars/{_initials(user)}.png"
    if not user.email:
        return initials
    digest = hashlib.md5(user.email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d={quote(initials, safe='')}"


def _initials(user: User) -> str:
    if user.given_name and user.family_name:
        letters = user.given_name[:1] + user.family_name[:1]
    else:
        words = (user.name or user.username or user.email or "").split()
        letters = "".join(w[:1] for w in words[:2]) if len(words) > 1 else "".join(words)[:2]
    letters = "".join(c for c in letters.lower() if c.isascii() and c.isalnum())
    return letters or "u"


MEMBERSHIP_COLUMNS = (
    "status",
    "request_reason",
    "reason",
    "requested_at",
    "decided_at",
    "updated_at",
)


def _memberships_select(
    kind: Kind, user_id: str, status: str | None, live_only: bool
) -> Select[Any]:
    """The user's memberships of one kind, in the columns `_items` reads; never those of a
    retired group. `live_only`: what the profile shows (no revoked, portal platforms)."""
    tables = TARGET_TABLES[kind]
    table, catalog = table_of(tables.membership), table_of(tables.catalog)
    target = table.c[tables.key]
    # Only groups have a short name and retire; only some platforms show in the portal.
    short_name = catalog.c.get("short_name", literal(None))
    query = (
        sa_select(
            literal(kind).label("kind"),
            target.label("target_id"),
            catalog.c.name,
            short_name.label("short_name"),
            *(table.c[name] for name in MEMBERSHIP_COLUMNS),
        )
        .join(catalog, catalog.c.id == target)
        .where(table.c.user_id == user_id)
    )
    if "retired_at" in catalog.c:
        query = query.where(catalog.c.retired_at.is_(None))
    if live_only:
        query = query.where(table.c.status != "revoked")
        if kind in LIVE_TARGETS:
            query = query.where(target.in_(LIVE_TARGETS[kind]))
    return query if status is None else query.where(table.c.status == status)


def _items(
    session: Session, *kinds: Kind, user_id: str, status: str | None, live_only: bool = False
) -> dict[str, list]:
    """The memberships of `kinds` in one statement, as the /me routes show them."""
    selects = [_memberships_select(kind, user_id, status, live_only) for kind in kinds]
    stmt = (selects[0] if len(selects) == 1 else union_all(*selects)).order_by("kind", "target_id")
    mine: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for row_kind, target_id, name, short_name, *values in session.connection().execute(stmt):
        kind = cast(Kind, row_kind)
        mine[kind].append(
            _item(
                kind,
                target_id,
                name,
                short_name,
                dict(zip(MEMBERSHIP_COLUMNS, values, strict=True)),
            )
        )
    return mine


def _item(kind: Kind, target_id: str, name: str, short_name: str | None, row: dict) -> dict:
    item: dict[str, Any] = {f"{kind}_id": target_id, f"{kind}_name": name}
    if "short_name" in table_of(TARGET_TABLES[kind].catalog).c:  # groups only
        item[f"{kind}_short_name"] = short_name
    status = row["status"]
    return item | {
        "approval_status": status,
        "request_reason": row["request_reason"],
        "rejection_reason": row["reason"] if status == "rejected" else None,
        "revocation_reason": row["reason"] if status == "revoked" else None,
        "requested_at": row["requested_at"],
        "decided_at": row["decided_at"],
        "updated_at": row["updated_at"],
    }


def list_my(
    session: Session, user_id: str, kind: Kind, *, status: str | None = None
) -> list[dict[str, Any]]:
    """The caller's platform or group memberships (`/me/platforms`, `/me/groups`)."""
    return _items(session, kind, user_id=user_id, status=status)[kind]


def list_mine(
    session: Session, user_id: str, *, status: str | None = None, live_only: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Platform and group memberships in one statement (the profile, /me/all/pending)."""
    mine = _items(session, "platform", "group", user_id=user_id, status=status, live_only=live_only)
    return mine["platform"], mine["group"]


def request_access(
    session: Session, user: User, target: Target, *, reason: str | None = None
) -> TransitionResult:
    """The caller asks for a platform or group: pending (or approved when automatic).

    Re-requesting after a rejection is a transition; a live request or an approved
    membership is a `Conflict`, and so is a revoked one (only support restores it).
    """
    _check_requestable(session, user, target)
    return transition(
        session, user_id=user.id, target=target, action="request", actor=user.id, reason=reason
    )


def needs_institutional_email(group_ids: Iterable[str]) -> bool:
    return any(group_id in INSTITUTIONAL_GROUPS for group_id in group_ids)


def request_groups(
    session: Session,
    user: User,
    requests: Sequence[tuple[str, str | None]],
    *,
    institutional: bool = False,
) -> list[TransitionResult]:
    """The caller asks for bundles, `requests` = [(group id, reason)]: all or nothing.

    Every group is checked before anything is written, so one that cannot be asked for
    fails the call with nothing changed. `institutional` is the institution check's
    verdict on the caller's email, made by the caller of this function with no
    transaction open (it is an HTTP call). Each request queues the email to the group's
    admins (the transition) and the confirmation to the requester.
    """
    groups = [
        _requestable_group(session, user, group_id, institutional=institutional)
        for group_id, _ in requests
    ]
    results = []
    for group, (_, reason) in zip(groups, requests, strict=True):
        target = Target("group", group.id)
        result = request_access(session, user, target, reason=reason)
        confirmation = notifications.queue_request_received(
            session, user=user, target=target, reason=result.membership.request_reason
        )
        results.append(replace(result, emails_queued=result.emails_queued + bool(confirmation)))
    return results


def _requestable_group(
    session: Session, user: User, group_id: str, *, institutional: bool
) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"There is no bundle {group_id}.")
    if group.retired_at is not None:
        raise NotFound(f"{group.name} is no longer offered.")
    _check_requestable(session, user, Target("group", group.id))
    if group.id in INSTITUTIONAL_GROUPS and not institutional:
        raise InvalidInput(INSTITUTIONAL_EMAIL_REQUIRED)
    return group


def _check_requestable(session: Session, user: User, target: Target) -> None:
    membership = get_membership(session, user_id=user.id, target=target)
    status = membership.status if membership else None
    if status in (None, "rejected"):
        return
    name = notifications.target_name(session, target)
    if status == "revoked":
        raise Conflict(
            f"Your account has been revoked access to {name}, please contact support to access."
        )
    if status == "pending":
        raise Conflict(f"Your request for {name} is already pending.")
    raise Conflict(f"You already have access to {name}.")
