"""The metadata naming convention and field helpers every table uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

from aai_cli.models.types import UTCDateTime, utcnow

# Named constraints from the first revision: Alembic can then alter and drop them on
# both databases (SQLite batch mode needs names to find them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

MEMBERSHIP_STATUSES = ("pending", "approved", "rejected", "revoked")
# The actors (events' `actor`, memberships' `decided_by`) of changes no person made.
SYNC_ACTOR = "system:sync"
REGISTRATION_ACTOR = "system:registration"


def in_check(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def timestamp(*, nullable: bool = True, **kwargs: Any) -> Any:
    """A timezone-aware timestamp column."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kwargs)


def created_timestamp() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a `table=True` model, for statements written in SQLAlchemy Core."""
    return model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass, not declared


__all__ = [
    "MEMBERSHIP_STATUSES",
    "NAMING_CONVENTION",
    "SQLModel",
    "created_timestamp",
    "datetime",
    "in_check",
    "table_of",
    "timestamp",
    "utcnow",
]
