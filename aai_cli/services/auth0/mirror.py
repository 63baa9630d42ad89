"""An Auth0 user as a row of the `users` table: the mirror's one write, shared by the
sync and by registration (which mirrors the account it just created)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from aai_cli.models import User, table_of
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.auth0.models import Auth0User
from aai_cli.services.bulk import bulk_write

_WRITE_COLUMNS = (*AUTH0_PROFILE_FIELDS, "synced_at", "deleted_at")


def upsert_rows(session: Session, rows: list[dict]) -> None:
    """One `INSERT ... ON CONFLICT (id) DO UPDATE` executemany for the batch."""
    bulk_write(session, table_of(User), rows, conflict=("id",), update=_WRITE_COLUMNS)


def user_row(user: Auth0User, now: datetime) -> dict:
    return {
        "id": user.user_id,
        **{name: getattr(user, name) for name in AUTH0_PROFILE_FIELDS},
        "synced_at": now,
        "deleted_at": None,
    }
