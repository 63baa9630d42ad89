"""The catalog seed: what the default offers, and retiring a group without losing a row."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from aai_cli import db
from aai_cli.models import (
    Group,
    GroupAdminRole,
    GroupMembership,
    GroupPlatform,
    MembershipEvent,
    Target,
    User,
)
from aai_cli.services.access.catalog import offered_groups, parse_catalog, seed_catalog
from aai_cli.services.access.memberships import transition
from aai_cli.services.schema import migrations

BPA_GALAXY = "biocommons/group/bpa_galaxy"
SBP_BUNDLE = "biocommons/group/sbp_workflow_execution"
TSI = "biocommons/group/tsi"

# The default catalog as it was before the SBP bundle replaced the BPA-Galaxy bundle.
OLD_DEFAULT = {
    "platforms": [
        {"id": "galaxy", "name": "Galaxy Australia", "auto_approve": True,
         "admin_roles": ["biocommons/role/galaxy/admin"]},
        {"id": "bpa_data_portal", "name": "Bioplatforms Australia Data Portal",
         "auto_approve": True, "admin_roles": ["biocommons/role/bpa_data_portal/admin"]},
        {"id": "sbp", "name": "Structural Biology Platform",
         "admin_roles": ["biocommons/role/sbp/admin"]},
    ],
    "groups": [
        {"id": TSI, "name": "Threatened Species Initiative", "short_name": "TSI",
         "platforms": ["galaxy", "bpa_data_portal"], "admin_roles": ["biocommons/role/tsi/admin"]},
        {"id": BPA_GALAXY, "name": "Bioplatforms Australia Data Portal & Galaxy Australia",
         "short_name": "BPA-GA", "platforms": ["bpa_data_portal", "galaxy"],
         "admin_roles": ["biocommons/role/bpa_galaxy/admin"]},
    ],
}  # fmt: skip


@pytest.fixture
def old_database(empty_db_url: str) -> str:
    """A migrated database seeded with the old default, with a BPA-Galaxy member."""
    migrations.upgrade(empty_db_url)
    with db.session_scope(empty_db_url) as session:
        seed_catalog(session, parse_catalog(OLD_DEFAULT))
        session.add(User(id="auth0|old", email="old@example.org", username="old"))
        session.flush()
        for action in ("request", "approve"):
            transition(
                session,
                user_id="auth0|old",
                target=Target("group", BPA_GALAXY),
                action=action,
                actor="auth0|admin",
                push_to_auth0=False,
            )
    return empty_db_url


def _rows(url: str, query):  # type: ignore[no-untyped-def]
    with Session(db.get_engine(url)) as session:
        return list(session.exec(query))


def test_default_catalog_offers_tsi_and_the_sbp_bundle(session: Session) -> None:
    groups = {g.id: (g.name, g.short_name) for g in offered_groups(session)}
    assert groups == {
        TSI: ("Threatened Species Initiative", "TSI"),
        SBP_BUNDLE: ("Structural Biology Platform Bundle", "SBP"),
    }
    admin_roles = session.exec(
        select(GroupAdminRole.role_name).where(GroupAdminRole.group_id == SBP_BUNDLE)
    )
    assert sorted(admin_roles) == [
        "biocommons/role/sbp/admin",
        "biocommons/role/sbp_workflow_execution/admin",
    ]
    assert session.get(Group, BPA_GALAXY) is None  # a new database never had it


def test_new_seed_retires_bpa_galaxy_and_keeps_its_rows_and_history(old_database: str) -> None:
    with db.session_scope(old_database) as session:
        report = seed_catalog(session)
    assert report.retired == [f"group {BPA_GALAXY}"]
    assert report.created == [f"group {SBP_BUNDLE}"]

    [group] = _rows(old_database, select(Group).where(Group.id == BPA_GALAXY))
    assert group.retired_at is not None and group.short_name == "BPA-GA"
    [membership] = _rows(old_database, select(GroupMembership))
    assert (membership.user_id, membership.group_id, membership.status) == (
        "auth0|old",
        BPA_GALAXY,
        "approved",
    )
    events = _rows(old_database, select(MembershipEvent.to_status).order_by(MembershipEvent.id))
    assert events == ["pending", "approved"]
    # its admins still manage the members it has; its bundled platforms stay recorded
    assert _rows(
        old_database, select(GroupAdminRole.role_name).where(GroupAdminRole.group_id == BPA_GALAXY)
    ) == ["biocommons/role/bpa_galaxy/admin"]
    assert (
        len(_rows(old_database, select(GroupPlatform).where(GroupPlatform.group_id == BPA_GALAXY)))
        == 2
    )

    with Session(db.get_engine(old_database)) as session:
        assert [g.id for g in offered_groups(session)] == [SBP_BUNDLE, TSI]


def test_seeding_again_changes_nothing(old_database: str) -> None:
    with db.session_scope(old_database) as session:
        seed_catalog(session)
    [first] = _rows(old_database, select(Group.retired_at).where(Group.id == BPA_GALAXY))
    with db.session_scope(old_database) as session:
        again = seed_catalog(session)
    assert (again.created, again.updated, again.retired) == ([], [], [])
    assert _rows(old_database, select(Group.retired_at).where(Group.id == BPA_GALAXY)) == [first]


def test_listing_a_retired_group_again_offers_it_again(old_database: str) -> None:
    with db.session_scope(old_database) as session:
        seed_catalog(session)
    with db.session_scope(old_database) as session:
        report = seed_catalog(session, parse_catalog(OLD_DEFAULT))
    assert f"group {BPA_GALAXY}" in report.updated
    assert report.retired == [f"group {SBP_BUNDLE}"]
    with Session(db.get_engine(old_database)) as session:
        assert [g.id for g in offered_groups(session)] == [BPA_GALAXY, TSI]
