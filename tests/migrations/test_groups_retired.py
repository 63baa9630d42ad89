"""The revision that lets a group be retired: rows kept both ways, triggers intact."""

from __future__ import annotations

import sqlalchemy as sa

from aai_cli.models import metadata, utcnow
from aai_cli.services.schema import migrations
from tests.migrations.database import columns, execute, scalars, upgrade_with_old_rows

BEFORE = "d8779ba899b1"
RETIRED_AT = "61b3572af776"
BPA_GALAXY = "biocommons/group/bpa_galaxy"


def _group(group_id: str):  # type: ignore[no-untyped-def]
    # only the columns every revision has
    values = {"id": group_id, "name": group_id, "short_name": "G", "created_at": utcnow()}
    return metadata.tables["groups"].insert().values(**values)


def _old_rows() -> list:
    """A group with a member and its history, as the earlier schema allows them."""
    t = metadata.tables
    now = utcnow()
    member = {"user_id": "auth0|old", "group_id": BPA_GALAXY, "created_at": now}
    return [
        _group(BPA_GALAXY),
        t["users"].insert().values(id="auth0|old", email="old@example.org", created_at=now),
        t["group_memberships"].insert().values(**member, status="approved", updated_at=now),
        t["membership_events"].insert().values(**member, to_status="approved", actor="t"),
    ]


def test_upgrade_and_downgrade_keep_every_row(empty_db_url: str) -> None:
    upgrade_with_old_rows(empty_db_url, _old_rows(), written_at=BEFORE, to=RETIRED_AT)
    assert "retired_at" in columns(empty_db_url, "groups")
    assert scalars(empty_db_url, "SELECT retired_at FROM groups") == [None]  # still offered
    execute(empty_db_url, sa.text("UPDATE groups SET retired_at = CURRENT_TIMESTAMP"))

    migrations.downgrade(empty_db_url, BEFORE)
    assert "retired_at" not in columns(empty_db_url, "groups")
    assert scalars(empty_db_url, "SELECT id FROM groups") == [BPA_GALAXY]
    assert scalars(empty_db_url, "SELECT status FROM group_memberships") == ["approved"]
    assert scalars(empty_db_url, "SELECT to_status FROM membership_events") == ["approved"]
    # the facet-slot trigger of `groups` survived: a new group still gets its slot
    execute(
        empty_db_url,
        _group("biocommons/group/new"),
    )
    slots = "SELECT facet_slot FROM groups ORDER BY id"
    assert scalars(empty_db_url, slots) == [0, 1]

    migrations.upgrade(empty_db_url)
    migrations.check(empty_db_url)
