"""One map from a target's kind to its tables: both kinds, tables with the same shape."""

from __future__ import annotations

from typing import get_args

from aai_cli.models import (
    TARGET_TABLES,
    GroupMembership,
    Kind,
    MembershipState,
    PlatformMembership,
    Target,
    table_of,
)


def test_every_kind_has_its_tables() -> None:
    assert list(TARGET_TABLES) == list(get_args(Kind)) == ["platform", "group"]
    assert {kind: tables.kind for kind, tables in TARGET_TABLES.items()} == {
        "platform": "platform",
        "group": "group",
    }
    assert Target("group", "g").tables is TARGET_TABLES["group"]


def test_the_names_each_kind_maps_to() -> None:
    names = {
        kind: (
            table_of(t.catalog).name,
            table_of(t.membership).name,
            table_of(t.admin_role).name,
            t.key,
            t.access_role,
            t.label,
        )
        for kind, t in TARGET_TABLES.items()
    }
    assert names == {
        "platform": (
            "platforms",
            "platform_memberships",
            "platform_admin_roles",
            "platform_id",
            "access_role_name",
            "Platform",
        ),
        "group": ("groups", "group_memberships", "group_admin_roles", "group_id", "id", "Group"),
    }


def test_the_membership_tables_differ_only_in_their_target_column() -> None:
    shared = list(MembershipState.model_fields)
    for kind, tables in TARGET_TABLES.items():
        membership = table_of(tables.membership)
        assert [c.name for c in membership.columns] == ["id", "user_id", f"{kind}_id", *shared]
        targets = [fk.target_fullname for fk in membership.c[tables.key].foreign_keys]
        assert targets == [f"{table_of(tables.catalog).name}.id"]
        assert tables.key in table_of(tables.admin_role).c


def test_new_membership_sets_the_target_column() -> None:
    platform = TARGET_TABLES["platform"].new_membership("galaxy", user_id="u1", status="pending")
    group_id = "biocommons/group/x"
    group = TARGET_TABLES["group"].new_membership(group_id, user_id="u1", status="pending")
    assert isinstance(platform, PlatformMembership) and platform.platform_id == "galaxy"
    assert isinstance(group, GroupMembership) and group.group_id == group_id
