"""The catalog of platforms and groups (bundles), and the admin roles that administer them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, SmallInteger
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, timestamp

# A group's id (the name of its Auth0 access role) is this prefix and the group's key.
GROUP_PREFIX = "biocommons/group/"


class Platform(SQLModel, table=True):
    __tablename__ = "platforms"
    __table_args__ = (Index("uq_platforms_facet_slot", "facet_slot", unique=True),)

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    access_role_name: str = Field(unique=True, max_length=255)
    auto_approve: bool = Field(default=False, nullable=False)
    # Its bits in users.platform_mask; given out by the database (models/derived/).
    facet_slot: int | None = Field(default=None, sa_type=SmallInteger)
    created_at: datetime = created_timestamp()
    updated_at: datetime | None = timestamp()


class Group(SQLModel, table=True):
    """A bundle; its id is also the name of its Auth0 access role."""

    __tablename__ = "groups"
    __table_args__ = (Index("uq_groups_facet_slot", "facet_slot", unique=True),)

    id: str = Field(primary_key=True, max_length=255)
    name: str = Field(max_length=255)
    short_name: str = Field(max_length=64)
    # Set when the catalog stops offering the group: it takes no new requests, while its
    # memberships, history and admins stay (groups are never deleted).
    retired_at: datetime | None = timestamp()
    # Its bits in users.group_mask; given out by the database (models/derived/).
    facet_slot: int | None = Field(default=None, sa_type=SmallInteger)
    created_at: datetime = created_timestamp()
    updated_at: datetime | None = timestamp()


class GroupPlatform(SQLModel, table=True):
    """The platforms a group bundles."""

    __tablename__ = "group_platforms"

    group_id: str = Field(foreign_key="groups.id", primary_key=True, max_length=255)
    platform_id: str = Field(foreign_key="platforms.id", primary_key=True, max_length=64)


class PlatformAdminRole(SQLModel, table=True):
    __tablename__ = "platform_admin_roles"

    platform_id: str = Field(foreign_key="platforms.id", primary_key=True, max_length=64)
    role_name: str = Field(primary_key=True, max_length=255, index=True)


class GroupAdminRole(SQLModel, table=True):
    __tablename__ = "group_admin_roles"

    group_id: str = Field(foreign_key="groups.id", primary_key=True, max_length=255)
    role_name: str = Field(primary_key=True, max_length=255, index=True)
