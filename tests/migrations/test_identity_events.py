"""The revision adding the identity history and the email-change codes: upgrade, the new
tables usable (check constraint included), downgrade keeps the rows of the older tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from aai_cli.models import metadata, utcnow
from aai_cli.services.schema import migrations
from tests.migrations.database import execute, scalars, tables, upgrade_with_old_rows

BEFORE = "a9d685896088"
ACCOUNTS = "2c6074bee6d9"


def test_upgrade_and_downgrade_keep_every_row(empty_db_url: str) -> None:
    t = metadata.tables
    now = utcnow()
    old_user = t["users"].insert().values(id="auth0|old", email="old@example.org", username="old")
    upgrade_with_old_rows(empty_db_url, [old_user], written_at=BEFORE, to=ACCOUNTS)
    assert {"identity_events", "email_change_codes"} <= tables(empty_db_url)
    execute(
        empty_db_url,
        t["identity_events"]
        .insert()
        .values(
            user_id="auth0|old",
            kind="username",
            old_value="old",
            new_value="new",
            actor="t",
            created_at=now,
        ),
        t["email_change_codes"]
        .insert()
        .values(
            user_id="auth0|old",
            new_email="n@example.org",
            code_hash="x",
            attempts=0,
            active=True,
            expires_at=now + timedelta(minutes=10),
            created_at=now,
        ),
    )
    assert scalars(empty_db_url, "SELECT new_value FROM identity_events") == ["new"]
    with pytest.raises(IntegrityError):
        execute(
            empty_db_url,
            t["identity_events"]
            .insert()
            .values(user_id="auth0|old", kind="nickname", actor="t", created_at=now),
        )

    migrations.downgrade(empty_db_url, BEFORE)
    assert not {"identity_events", "email_change_codes"} & tables(empty_db_url)
    assert scalars(empty_db_url, "SELECT username FROM users") == ["old"]

    migrations.upgrade(empty_db_url)
    migrations.check(empty_db_url)
