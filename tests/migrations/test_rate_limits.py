"""The revision adding `rate_limits` and `job_runs.runner`: upgrade, one row per (limit,
client), the runner recorded beside an older run without one, downgrade keeps the older
tables' rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from aai_cli.models import metadata, utcnow
from aai_cli.services.schema import migrations
from tests.migrations.database import columns, execute, scalars, tables, upgrade_with_old_rows

BEFORE = "676e329abaa2"
RATE_LIMITS = "153918af78e2"


def test_upgrade_and_downgrade_keep_every_row(empty_db_url: str) -> None:
    t = metadata.tables
    now = utcnow()
    welcome = t["welcome_emails"].insert().values(user_id="auth0|ada", created_at=now)
    old_run = sa.text(
        "INSERT INTO job_runs (job, status, started_at, counts) VALUES ('codes', 'succeeded', "
        ":now, '{}')"
    ).bindparams(now=now)
    upgrade_with_old_rows(empty_db_url, [welcome, old_run], written_at=BEFORE, to=RATE_LIMITS)
    assert "rate_limits" in tables(empty_db_url)
    new_run = (
        t["job_runs"]
        .insert()
        .values(job="codes", status="succeeded", started_at=now, counts={}, runner="host-b:42")
    )
    execute(empty_db_url, new_run)
    assert scalars(empty_db_url, "SELECT runner FROM job_runs ORDER BY id") == [None, "host-b:42"]
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
    assert "runner" not in columns(empty_db_url, "job_runs")
    assert scalars(empty_db_url, "SELECT job FROM job_runs") == ["codes", "codes"]

    migrations.upgrade(empty_db_url)
    migrations.check(empty_db_url)
