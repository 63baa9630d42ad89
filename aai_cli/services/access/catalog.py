"""The catalog of platforms and groups: data, seeded idempotently from a built-in default
matching today's BioCommons services, or from a JSON/YAML file of the same shape.

A seed never deletes. A group in the database that the seeded catalog does not list is
retired: no longer offered (registration, requests, admin filters), its memberships and
history kept; listing it again offers it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session, SQLModel, col, select

from aai_cli import db, files
from aai_cli.errors import InvalidInput
from aai_cli.models import Group, GroupPlatform, Platform, Target, utcnow
from aai_cli.models.catalog import GROUP_PREFIX
from aai_cli.services.schema import migrations

if TYPE_CHECKING:
    from aai_cli.settings import Settings

_PLATFORM_ID = r"^[a-z0-9][a-z0-9_]{0,63}$"
_ROLE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_./:-]{0,254}$"
GROUP_ID_PATTERN = rf"^{GROUP_PREFIX}[a-z0-9][a-z0-9_-]{{0,100}}$"


class PlatformSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_PLATFORM_ID)
    name: str = Field(min_length=1, max_length=255)
    access_role: str | None = Field(default=None, pattern=_ROLE_NAME)
    auto_approve: bool = False
    admin_roles: list[str] = Field(default_factory=list)

    @property
    def access_role_name(self) -> str:
        return self.access_role or f"biocommons/platform/{self.id}"


class GroupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=GROUP_ID_PATTERN)
    name: str = Field(min_length=1, max_length=255)
    short_name: str = Field(min_length=1, max_length=64)
    platforms: list[str] = Field(default_factory=list)
    admin_roles: list[str] = Field(default_factory=list)


class CatalogSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platforms: list[PlatformSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CatalogSpec:
        ids = [p.id for p in self.platforms]
        if len(ids) != len(set(ids)):
            raise ValueError("platform ids must be unique")
        group_ids = [g.id for g in self.groups]
        if len(group_ids) != len(set(group_ids)):
            raise ValueError("group ids must be unique")
        for role in [r for p in self.platforms for r in p.admin_roles] + [
            r for g in self.groups for r in g.admin_roles
        ]:
            if not re.match(_ROLE_NAME, role):
                raise ValueError(f"invalid admin role name: {role!r}")
        return self


DEFAULT_CATALOG: dict[str, Any] = {
    "platforms": [
        {
            "id": "galaxy",
            "name": "Galaxy Australia",
            "auto_approve": True,
            "admin_roles": ["biocommons/role/galaxy/admin"],
        },
        {
            "id": "bpa_data_portal",
            "name": "Bioplatforms Australia Data Portal",
            "auto_approve": True,
            "admin_roles": ["biocommons/role/bpa_data_portal/admin"],
        },
        {
            "id": "sbp",
            "name": "Structural Biology Platform",
            "auto_approve": False,
            "admin_roles": ["biocommons/role/sbp/admin"],
        },
    ],
    "groups": [
        {
            "id": "biocommons/group/tsi",
            "name": "Threatened Species Initiative",
            "short_name": "TSI",
            "platforms": ["galaxy", "bpa_data_portal"],
            "admin_roles": ["biocommons/role/tsi/admin"],
        },
        {
            # Its admins: the bundle's own role and, as the portal pairs the SBP platform
            # with this bundle, the SBP platform admins too.
            "id": "biocommons/group/sbp_workflow_execution",
            "name": "Structural Biology Platform Bundle",
            "short_name": "SBP",
            "platforms": [],
            "admin_roles": [
                "biocommons/role/sbp/admin",
                "biocommons/role/sbp_workflow_execution/admin",
            ],
        },
    ],
}


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def parse_catalog(data: Any, *, source: str = "catalog") -> CatalogSpec:
    try:
        return CatalogSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise InvalidInput(f"{source}: {where}: {first['msg']}") from None


def load_catalog_file(path: Path) -> CatalogSpec:
    raw = files.read_text(path, what="catalog file")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(raw)
        else:
            data = json.loads(raw)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        line = str(exc).splitlines()[0]
        raise InvalidInput(
            f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {line}"
        ) from None
    return parse_catalog(data, source=str(path))


def seed_catalog(session: Session, catalog: CatalogSpec | None = None) -> SeedReport:
    """Upsert platforms and groups; admin roles and bundled platforms follow the spec."""
    catalog = catalog or parse_catalog(DEFAULT_CATALOG)
    report = SeedReport()
    known_platforms = {p.id for p in session.exec(select(Platform))} | {
        p.id for p in catalog.platforms
    }
    for spec in catalog.platforms:
        _record(report, f"platform {spec.id}", _upsert_platform(session, spec))
    for group_spec in catalog.groups:
        missing = [p for p in group_spec.platforms if p not in known_platforms]
        if missing:
            raise InvalidInput(
                f"group {group_spec.id} bundles unknown platforms: {', '.join(missing)}"
            )
        _record(report, f"group {group_spec.id}", _upsert_group(session, group_spec))
    report.retired = _retire_unlisted_groups(session, {g.id for g in catalog.groups})
    session.flush()
    return report


def seed_embedded_default(
    settings: Settings, *, directory: Path | None = None
) -> SeedReport | None:
    """The embedded SQLite default gets the built-in catalog whenever it is at head, so a
    fresh checkout just works; any other database is seeded by `aai db seed` only. Runs in
    a session of its own (the entry point of `aai db upgrade` and `aai serve`); None when
    the rule does not apply."""

    url = settings.database_url
    if not settings.is_default_sqlite or not migrations.current(url, directory=directory).at_head:
        return None
    with db.session_scope(url) as session:
        return seed_catalog(session)


def offered_groups(session: Session) -> list[Group]:
    """The groups (bundles) people may ask for: the catalog's groups not retired."""
    query = select(Group).where(col(Group.retired_at).is_(None)).order_by(col(Group.id))
    return list(session.exec(query))


def _retire_unlisted_groups(session: Session, listed: set[str]) -> list[str]:
    """Mark the live groups the catalog no longer lists; returns their report labels."""
    retired = []
    for group in offered_groups(session):
        if group.id not in listed:
            group.retired_at = group.updated_at = utcnow()
            session.add(group)
            retired.append(f"group {group.id}")
    return retired


def _record(report: SeedReport, label: str, outcome: str) -> None:
    getattr(report, outcome).append(label)


def _upsert_platform(session: Session, spec: PlatformSpec) -> str:
    platform = session.get(Platform, spec.id)
    outcome = "created" if platform is None else "unchanged"
    if platform is None:
        platform = Platform(id=spec.id, name=spec.name, access_role_name=spec.access_role_name)
    values = {
        "name": spec.name,
        "access_role_name": spec.access_role_name,
        "auto_approve": spec.auto_approve,
    }
    if outcome == "unchanged" and any(getattr(platform, k) != v for k, v in values.items()):
        outcome = "updated"
    for key, value in values.items():
        setattr(platform, key, value)
    session.add(platform)
    if _replace_admin_roles(session, Target("platform", spec.id), spec.admin_roles):
        outcome = "updated" if outcome == "unchanged" else outcome
    if outcome == "updated":
        platform.updated_at = utcnow()
    return outcome


def _upsert_group(session: Session, spec: GroupSpec) -> str:
    group = session.get(Group, spec.id)
    outcome = "created" if group is None else "unchanged"
    if group is None:
        group = Group(id=spec.id, name=spec.name, short_name=spec.short_name)
    values = {"name": spec.name, "short_name": spec.short_name, "retired_at": None}
    if outcome == "unchanged" and any(getattr(group, k) != v for k, v in values.items()):
        outcome = "updated"
    for key, value in values.items():
        setattr(group, key, value)
    session.add(group)
    session.flush()
    changed = _replace_admin_roles(session, Target("group", spec.id), spec.admin_roles)
    platforms = {
        p.platform_id
        for p in session.exec(select(GroupPlatform).where(GroupPlatform.group_id == spec.id))
    }
    changed |= _replace_links(
        session, GroupPlatform, "group_id", spec.id, "platform_id", platforms, spec.platforms
    )
    if changed and outcome == "unchanged":
        outcome = "updated"
    if outcome == "updated":
        group.updated_at = utcnow()
    return outcome


def _replace_admin_roles(session: Session, target: Target, wanted: Iterable[str]) -> bool:
    tables = target.tables
    current = set(
        session.exec(
            select(tables.admin_role.role_name).where(tables.admin_role_key() == target.id)
        )
    )
    return _replace_links(
        session, tables.admin_role, tables.key, target.id, "role_name", current, wanted
    )


def _replace_links(
    session: Session,
    model: type[SQLModel],
    owner_field: str,
    owner_id: str,
    value_field: str,
    current: set[str],
    wanted: Iterable[str],
) -> bool:
    wanted_set = set(wanted)
    if current == wanted_set:
        return False
    for value in current - wanted_set:
        row = session.get(model, (owner_id, value))
        if row is not None:
            session.delete(row)
    for value in sorted(wanted_set - current):
        session.add(model(**{owner_field: owner_id, value_field: value}))
    return True
