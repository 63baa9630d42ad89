"""`aai sync` through the real CLI against the local Auth0: exit codes, stdout vs stderr,
the --json document."""

from __future__ import annotations

import json

import pytest

from aai_cli import db
from tests.cli import aai
from tests.services.sync_helpers import GALAXY, build_tenant, fast_gateway, live_ids, runs

pytestmark = pytest.mark.usefixtures("fresh_gateway")


def test_sync_now_json(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 50, {GALAXY: slice(0, 10)})
    result = aai("sync", "--now", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "succeeded" and document["mode"] == "full"
    assert document["users"]["created"] == 50
    assert document["memberships"]["granted"] == 10
    assert document["roles"]["created"] == 5
    for key in ("started_at", "finished_at", "auth0_requests", "rate_limited", "duration_s"):
        assert key in document
    assert set(document["users"]) >= {
        "created",
        "updated",
        "restored",
        "deleted",
        "blocked",
        "unchanged",
        "skipped",
    }
    assert set(document["memberships"]) >= {"granted", "revoked", "unchanged"}


def test_sync_now_human_output(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 20)
    result = aai("sync", "--now")
    assert result.exit_code == 0, result.stderr
    assert "users" in result.stdout and "created" in result.stdout
    assert "sync succeeded" in result.stderr
    assert "walked" not in result.stdout

    again = aai("sync", "--now")  # incremental, right after a walk: the walk is deferred
    assert again.exit_code == 0, again.stderr
    assert "role members not walked" in again.stderr


def test_dry_run_and_single_steps(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 20)
    dry = json.loads(aai("sync", "--now", "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True and dry["users"]["created"] == 20
    assert live_ids(db_url) == set()
    roles = json.loads(aai("sync", "roles", "--json").stdout)
    assert roles["steps"] == ["roles"] and roles["roles"]["created"] == 5
    users = json.loads(aai("sync", "users", "--full", "--json").stdout)
    assert users["mode"] == "full" and users["users"]["created"] == 20
    members = aai("sync", "memberships", "--json")
    assert members.exit_code == 0 and json.loads(members.stdout)["steps"] == ["memberships"]


def test_missing_auth0_settings_exit_6(db_url) -> None:
    result = aai("sync", "--now")
    assert result.exit_code == 6
    assert "AUTH0_MANAGEMENT_ID" in result.stderr and "AUTH0_MANAGEMENT_SECRET" in result.stderr
    assert result.stdout == ""


def test_auth0_down_exit_5_and_the_run_recorded(db_url, auth0_env) -> None:
    fast_gateway(max_attempts=2)  # the CLI uses this process's gateway
    auth0_env.fail_next(20, 503)
    result = aai("sync", "--now", "--json")
    assert result.exit_code == 5
    assert "Auth0 unavailable" in result.stderr and "Traceback" not in result.stderr
    assert auth0_env.client_secret not in result.stderr
    assert runs(db_url)[-1].status == "failed"


def test_refused_credentials_exit_6_and_leave_pending_pushes_alone(
    db_url, auth0_env, settings_env
) -> None:
    from aai_cli.models import RoleChange, User
    from aai_cli.services.access.role_outbox import enqueue_role_change

    with db.session_scope(db_url) as session:
        session.add(User(id="auth0|ada", email="ada@example.org", username="ada"))
        session.flush()
        enqueue_role_change(session, user_id="auth0|ada", role_name=GALAXY, action="assign")
    settings_env(AUTH0_MANAGEMENT_SECRET="s3cr3t-wrong-value")
    result = aai("sync", "--now")
    assert result.exit_code == 6
    assert "Auth0 refused the management client credentials (HTTP 401)" in result.stderr
    assert "AUTH0_MANAGEMENT_SECRET" in result.stderr
    assert "s3cr3t" not in result.stderr and "Traceback" not in result.stderr
    assert runs(db_url)[-1].status == "failed"
    with db.session_scope(db_url) as session:
        [change] = session.query(RoleChange).all()
        assert (change.status, change.attempts, change.last_error) == ("pending", 0, None)


def test_an_unseeded_catalog_exit_3_until_seeded(empty_db_url, auth0_env) -> None:
    build_tenant(auth0_env, 10, {GALAXY: slice(0, 4)})
    assert aai("db", "upgrade").exit_code == 0  # migrated; not the embedded default: no seed
    result = aai("sync", "--now")
    assert result.exit_code == 3
    assert "no platforms in the catalog: run aai db seed" in result.stderr
    assert result.stdout == "" and live_ids(empty_db_url) == set()
    users = aai("sync", "users", "--json")  # users need no catalog
    assert users.exit_code == 0, users.stderr
    assert json.loads(users.stdout)["users"]["created"] == 10
    assert aai("db", "seed").exit_code == 0
    seeded = aai("sync", "--now", "--json")
    assert seeded.exit_code == 0, seeded.stderr
    assert json.loads(seeded.stdout)["memberships"]["granted"] == 4


def test_busy_exit_7(db_url, auth0_env) -> None:
    with db.advisory_lock("sync", wait=False, url=db_url):
        result = aai("sync", "--now")
    assert result.exit_code == 7
    assert "in progress" in result.stderr


def test_too_many_deletions_exit_8(db_url, auth0_env) -> None:
    tenant = build_tenant(auth0_env, 20)
    assert aai("sync", "--now").exit_code == 0
    for user_id in tenant["ids"][:3]:
        auth0_env.delete_user(user_id)
    result = aai("sync", "--now", "--full", "--max-deletes", "2")
    assert result.exit_code == 8
    assert len(live_ids(db_url)) == 20


def test_status(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 10)
    aai("sync", "--now")
    result = aai("sync", "status", "--json")
    assert result.exit_code == 0
    status = json.loads(result.stdout)
    assert status["in_progress"] is False and status["watermark"]
    assert status["runs"][0]["status"] == "succeeded"
    human = aai("sync", "status")
    assert human.exit_code == 0 and "succeeded" in human.stdout


def test_sync_without_now_is_a_usage_error(db_url) -> None:
    result = aai("sync")
    assert result.exit_code == 2
