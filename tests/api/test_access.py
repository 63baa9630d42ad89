"""services/access.py: token roles to what the caller administers, and its directory scope."""

from __future__ import annotations

from aai_cli.services import directory
from aai_cli.services.access.scopes import administered
from aai_cli.services.directory.query import UserQuery
from tests.api.conftest import GALAXY_ADMIN, SUPER_ROLE, TSI, TSI_ADMIN, add_user, decide


def test_roles_resolve_to_platforms_and_groups(session):
    who = administered(session, [GALAXY_ADMIN, TSI_ADMIN, "other"], super_roles=[SUPER_ROLE])
    assert (who.super_admin, who.platforms, who.groups) == (False, {"galaxy"}, {TSI})
    assert who.is_admin and who.covers_platform("galaxy") and not who.covers_platform("sbp")
    boss = administered(session, ["x", SUPER_ROLE], super_roles=[SUPER_ROLE])
    assert boss.super_admin and boss.covers_group("anything") and boss.scope.unrestricted
    nobody = administered(session, ["biocommons/platform/galaxy"], super_roles=[SUPER_ROLE])
    assert not nobody.is_admin


def test_a_non_admin_scope_sees_nobody(db_url, session):
    add_user(db_url, "auth0|alice")
    decide(db_url, "auth0|alice", "platform", "galaxy", "request")
    nobody = administered(session, [], super_roles=[SUPER_ROLE])
    assert directory.list_users(session, UserQuery(), scope=nobody.scope) == []
    record = directory.get_user_record(session, "auth0|alice")
    assert record is not None and not record.within(nobody.scope)
    galaxy = administered(session, [GALAXY_ADMIN], super_roles=[SUPER_ROLE])
    assert [r.id for r in directory.list_users(session, UserQuery(), scope=galaxy.scope)] == [
        "auth0|alice"
    ]
