"""The revision adding the Action flows' tables: upgrade, the tables usable (the digest and
the welcome's person unique, the email link cleared when its email goes), downgrade keeps
the older tables' rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from aai_cli.models import metadata, utcnow
from aai_cli.services.schema import migrations
from tests.migrations.database import execute, scalars, tables, upgrade_with_old_rows

BEFORE = "2c6074bee6d9"
ACTIONS = "676e329abaa2"
NEW_TABLES = {"session_token_uses", "welcome_emails"}


def test_upgrade_and_downgrade_keep_every_row(empty_db_url: str) -> None:
    t = metadata.tables
    now = utcnow()
    sent = (
        t["email_outbox"]
        .insert()
        .values(
            id=7,
            kind="welcome",
            to_address="ada@example.org",
            subject="Welcome",
            body_text="hi",
            status="sent",
            attempts=1,
            created_at=now,
        )
    )
    upgrade_with_old_rows(empty_db_url, [sent], written_at=BEFORE, to=ACTIONS)
    assert tables(empty_db_url) >= NEW_TABLES
    use = (
        t["session_token_uses"]
        .insert()
        .values(digest="d" * 64, flow="migration", user_id="auth0|ada", expires_at=now, used_at=now)
    )
    welcome = t["welcome_emails"].insert().values(user_id="auth0|ada", email_id=7, created_at=now)
    execute(empty_db_url, use, welcome)
    with pytest.raises(IntegrityError):
        execute(empty_db_url, use.values(expires_at=now + timedelta(minutes=5)))
    with pytest.raises(IntegrityError):
        execute(empty_db_url, welcome.values(email_id=None))

    migrations.downgrade(empty_db_url, BEFORE)
    assert not NEW_TABLES & tables(empty_db_url)
    assert scalars(empty_db_url, "SELECT to_address FROM email_outbox") == ["ada@example.org"]

    migrations.upgrade(empty_db_url)
    migrations.check(empty_db_url)
