"""The revision adding `rate_limits`: upgrade, one row per (limit, client), downgrade keeps
the older tables' rows."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from aai_cli.models import metadata, utcnow
from aai_cli.services.schema import migrations
from tests.migrations.database import execute, scalars, tables

BEFORE = "676e329abaa2"
RATE_LIMITS = "153918af78e2"


def test_upgrade_and_downgrade_keep_every_row(empty_db_url: str) -> None:
    t = metadata.tables
    migrations.upgrade(empty_db_url, BEFORE)
    welcome = t["welcome_emails"].insert().values(user_id="auth0|ada", created_at=utcnow())
    execute(empty_db_url, welcome)
    migrations.upgrade(empty_db_url, RATE_LIMITS)
    assert "rate_limits" in tables(empty_db_url)
    state = (
        t["rate_limits"]
        .insert()
        .values(name="registration", client_key="203.0.113.7", full_at=1.8e9, allowed=True)
    )
    execute(empty_db_url, state, state.values(client_key="203.0.113.8"))
    with pytest.raises(IntegrityError):
        execute(empty_db_url, state.values(full_at=1.9e9))
    assert scalars(empty_db_url, "SELECT full_at FROM rate_limits") == [1.8e9, 1.8e9]

    migrations.downgrade(empty_db_url, BEFORE)
    assert "rate_limits" not in tables(empty_db_url)
    assert scalars(empty_db_url, "SELECT user_id FROM welcome_emails") == ["auth0|ada"]

    migrations.upgrade(empty_db_url)
    migrations.check(empty_db_url)
