"""Mirrors of Auth0 identities and roles (Auth0 is the truth for these)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import BigInteger, Index, Text, text
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, timestamp

LIVE = text("deleted_at IS NULL")


class Auth0Profile(BaseModel):
    """The user fields Auth0 is the truth for, as named on both sides (Auth0 and `users`).
    Auth0's answers (`Auth0User`) build on it; the directory's `UserRecord` repeats it
    (a dataclass, for the export's speed)."""

    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    picture: str | None = None
    blocked: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_login: datetime | None = None


AUTH0_PROFILE_FIELDS = tuple(Auth0Profile.model_fields)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Usernames are unique among live rows; a soft-deleted row keeps its old username.
        # Emails are indexed but not unique: Auth0 allows one email on several
        # connections (a database user and a Google login), and the mirror must hold both.
        Index(
            "uq_users_username_live",
            "username",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index("ix_users_created_at_id", "created_at", "id"),
        # Everything a directory filter reads, in the default page order: pages are
        # chosen from this index alone, without visiting the table.
        Index(
            "ix_users_directory",
            "deleted_at",
            "created_at",
            "id",
            "email_verified",
            "blocked",
            "platform_mask",
            "group_mask",
            "search_text",
        ),
        # The narrow part of it that counts without a search read (half its width).
        Index(
            "ix_users_facets",
            "deleted_at",
            "platform_mask",
            "group_mask",
            "email_verified",
            "blocked",
        ),
    )

    id: str = Field(primary_key=True, max_length=255)
    email: str | None = Field(default=None, index=True, max_length=320)
    email_verified: bool = Field(default=False, nullable=False)
    username: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, sa_type=Text)
    given_name: str | None = Field(default=None, sa_type=Text)
    family_name: str | None = Field(default=None, sa_type=Text)
    picture: str | None = Field(default=None, sa_type=Text)
    blocked: bool = Field(default=False, nullable=False)
    created_at: datetime | None = timestamp()
    updated_at: datetime | None = timestamp()
    last_login: datetime | None = timestamp()
    synced_at: datetime | None = timestamp()
    deleted_at: datetime | None = timestamp(index=True)
    # Derived by the database, never written by the application (models/derived/).
    platform_mask: int = Field(
        default=0, sa_type=BigInteger, nullable=False, sa_column_kwargs={"server_default": "0"}
    )
    group_mask: int = Field(
        default=0, sa_type=BigInteger, nullable=False, sa_column_kwargs={"server_default": "0"}
    )
    search_text: str = Field(
        default="", sa_type=Text, nullable=False, sa_column_kwargs={"server_default": ""}
    )


class Role(SQLModel, table=True):
    __tablename__ = "roles"
    __table_args__ = (
        Index("uq_roles_name_live", "name", unique=True, sqlite_where=LIVE, postgresql_where=LIVE),
    )

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()
    synced_at: datetime | None = timestamp()
    deleted_at: datetime | None = timestamp()
