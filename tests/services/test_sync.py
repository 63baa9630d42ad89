"""The sync engine against the local Auth0, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from aai_cli import db
from aai_cli.errors import Auth0Unavailable, Busy, SafetyGuard
from aai_cli.serialize import to_data
from aai_cli.services.sync import run_sync, sync_status
from aai_cli.services.sync import users as sync_users
from aai_cli.services.sync.users import get_watermark
from tests.services.sync_helpers import (
    GALAXY,
    TSI,
    build_tenant,
    db_users,
    events,
    expected_statuses,
    fast_gateway,
    live_ids,
    runs,
    statuses,
    walk_members_every_run,
)

pytestmark = pytest.mark.usefixtures("fresh_gateway")


def approved(url: str) -> dict[tuple[str, str], str]:
    return {k: v for k, v in statuses(url).items() if v == "approved"}


def test_full_sync_past_the_cap_then_a_rerun_changes_nothing(
    db_url, auth0_env, settings_env
) -> None:
    tenant = build_tenant(auth0_env, 3200)
    first = run_sync(gateway=fast_gateway())

    assert first.mode == "full" and first.status == "succeeded"
    assert first.users.created == 3200 and first.users.skipped == 0
    users = db_users(db_url)
    assert set(users) == set(tenant["ids"])
    for remote in auth0_env.users:
        mirrored = users[remote["user_id"]]
        assert (mirrored.email, mirrored.username, mirrored.blocked) == (
            remote["email"],
            remote.get("username"),
            remote.get("blocked", False),
        )
    assert any(u.username is None for u in users.values())  # social logins
    assert first.users.blocked == sum(1 for u in users.values() if u.blocked) > 0
    assert approved(db_url) == expected_statuses(auth0_env, tenant["roles"])
    assert first.memberships.granted == 640 + 320
    assert {(e.actor, e.from_status, e.to_status) for e in events(db_url)} == {
        ("system:sync", None, "approved")
    }
    assert first.roles["created"] == 5
    assert runs(db_url)[-1].status == "succeeded"

    # right after a walk, an incremental run defers the next one: a handful of requests
    second = run_sync(gateway=fast_gateway())
    assert second.mode == "incremental" and second.walk_members is False
    changed = {k: v for k, v in to_data(second.users).items() if k != "unchanged"}
    assert set(changed.values()) == {0}
    assert to_data(second.summary())["memberships"]["walked"] is False
    assert second.auth0_requests < 20

    walk_members_every_run(settings_env)
    walked = run_sync(gateway=fast_gateway())
    assert walked.mode == "incremental" and walked.walk_members is True
    assert walked.memberships.granted == walked.memberships.revoked == 0
    assert walked.memberships.unchanged == 960
    assert walked.auth0_requests < 30  # roles + search + member pages, never per user
    assert len(events(db_url)) == 960

    third = run_sync(mode="full", gateway=fast_gateway())
    assert third.users.unchanged == 3200 and third.users.updated == 0


def test_mutations_in_auth0_are_mirrored(db_url, auth0_env, settings_env) -> None:
    walk_members_every_run(settings_env)
    tenant = build_tenant(auth0_env, 60, {GALAXY: slice(0, 20)})
    galaxy = tenant["roles"][GALAXY]
    run_sync(gateway=fast_gateway())
    ids = tenant["ids"]
    named = [uid for uid in ids[31:] if auth0_env.get_user(uid).get("username")]
    blocked, renamed, taker, gone = named[0], named[1], named[2], named[3]
    old_username = auth0_env.get_user(gone)["username"]

    auth0_env.update_user(blocked, blocked=True)
    auth0_env.update_user(renamed, email="new.address@example.org")
    auth0_env.delete_user(gone)
    auth0_env.update_user(taker, username=old_username)  # takes a deleted user's username
    auth0_env.remove_role(ids[0], galaxy)
    auth0_env.assign_role(ids[30], galaxy)

    report = run_sync(gateway=fast_gateway())
    assert report.mode == "incremental"
    users = db_users(db_url)
    assert users[blocked].blocked and users[blocked].deleted_at is None
    assert users[renamed].email == "new.address@example.org"
    assert users[taker].username == old_username
    assert users[gone].username is None and report.users.collisions == 1
    state = statuses(db_url)
    assert state[(ids[0], "galaxy")] == "revoked"
    assert state[(ids[30], "galaxy")] == "approved"
    assert (report.memberships.granted, report.memberships.revoked) == (1, 1)
    revoke = [e for e in events(db_url) if e.to_status == "revoked"]
    assert [(e.user_id, e.actor, e.reason) for e in revoke] == [
        (ids[0], "system:sync", "role removed in Auth0")
    ]

    full = run_sync(mode="full", gateway=fast_gateway())
    assert full.users.deleted == 1
    assert users[gone].id not in live_ids(db_url)

    auth0_env.add_user(user_id=gone, email="back@example.org", username="back")
    auth0_env.assign_role(ids[0], galaxy)
    again = run_sync(mode="full", gateway=fast_gateway())
    assert again.users.restored == 1
    assert gone in live_ids(db_url)
    assert statuses(db_url)[(ids[0], "galaxy")] == "approved"  # unrevoked by the sync
    assert len(events(db_url)) == 20 + 1 + 1 + 1  # history only grows


def test_deletion_guard_deletes_nothing_above_the_limit(db_url, auth0_env) -> None:
    tenant = build_tenant(auth0_env, 40, {GALAXY: slice(0, 5)})
    run_sync(gateway=fast_gateway())
    for user_id in tenant["ids"][10:16]:
        auth0_env.delete_user(user_id)

    with pytest.raises(SafetyGuard) as caught:
        run_sync(mode="full", max_deletes=5, gateway=fast_gateway())
    assert caught.value.exit_code == 8
    assert len(live_ids(db_url)) == 40
    assert runs(db_url)[-1].status == "failed"

    report = run_sync(mode="full", max_deletes=6, gateway=fast_gateway())
    assert report.users.deleted == 6
    assert live_ids(db_url) == set(tenant["ids"]) - set(tenant["ids"][10:16])


def test_429_storms_and_5xx_bursts_still_end_correct(db_url, auth0_env) -> None:
    tenant = build_tenant(auth0_env, 400, {GALAXY: slice(0, 250), TSI: slice(100, 200)})
    auth0_env.rate_limit(20, burst=3)
    auth0_env.fail_next(3, 429)  # a storm right at the start, then random 5xx
    auth0_env.fail_fraction = 0.15
    report = run_sync(gateway=fast_gateway())
    assert report.status == "succeeded"
    assert report.rate_limited >= 3
    assert live_ids(db_url) == set(tenant["ids"])
    assert approved(db_url) == expected_statuses(auth0_env, tenant["roles"])


def test_a_crash_between_batches_then_a_rerun_ends_correct(db_url, auth0_env, monkeypatch) -> None:
    tenant = build_tenant(auth0_env, 500)
    monkeypatch.setattr(sync_users, "BATCH_SIZE", 100)

    def crash(step: str, done: int, total: int | None) -> None:
        if step == "users" and done >= 200:
            raise KeyboardInterrupt  # the process is stopped between two batches

    with pytest.raises(KeyboardInterrupt):
        run_sync(gateway=fast_gateway(), progress=crash)
    assert len(db_users(db_url)) == 200  # committed batches stay, nothing half-written
    assert runs(db_url)[-1].status == "failed"

    report = run_sync(gateway=fast_gateway())
    assert report.mode == "full" and report.users.unchanged == 200
    assert live_ids(db_url) == set(tenant["ids"])
    assert approved(db_url) == expected_statuses(auth0_env, tenant["roles"])

    # incremental: the watermark advances with each committed batch only
    with db.session_scope(db_url) as session:
        before = get_watermark(session)
    for user_id in tenant["ids"][:250]:
        auth0_env.update_user(user_id, name="Renamed")
    with pytest.raises(KeyboardInterrupt):
        run_sync(gateway=fast_gateway(), progress=crash)
    with db.session_scope(db_url) as session:
        mark = get_watermark(session)
    renamed = sum(1 for u in db_users(db_url).values() if u.name == "Renamed")
    assert 100 <= renamed < 250
    assert mark is not None and before is not None and mark > before
    run_sync(gateway=fast_gateway())
    assert sum(1 for u in db_users(db_url).values() if u.name == "Renamed") == 250


def test_dry_run_writes_nothing(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 120)
    report = run_sync(dry_run=True, gateway=fast_gateway())
    assert report.users.created == 120 and report.memberships.granted == 36
    assert db_users(db_url) == {} and statuses(db_url) == {}
    with db.session_scope(db_url) as session:
        assert get_watermark(session) is None
    assert [(r.dry_run, r.status) for r in runs(db_url)] == [(True, "succeeded")]

    run_sync(gateway=fast_gateway())
    user_id = next(iter(db_users(db_url)))
    auth0_env.update_user(user_id, email="changed@example.org")
    report = run_sync(dry_run=True, gateway=fast_gateway())
    assert report.users.updated == 1
    assert db_users(db_url)[user_id].email != "changed@example.org"


def test_a_second_concurrent_run_is_busy(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 50)
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold(step: str, done: int, total: int | None) -> None:
        started.set()
        release.wait(30)

    def first() -> None:
        outcome["report"] = run_sync(gateway=fast_gateway(), progress=hold)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(30)
    try:
        with pytest.raises(Busy) as caught:
            run_sync(gateway=fast_gateway())
        assert caught.value.exit_code == 7
    finally:
        release.set()
        thread.join(60)
    assert outcome["report"].status == "succeeded"  # type: ignore[attr-defined]
    assert len(runs(db_url)) == 1


def test_auth0_down_fails_the_run_and_records_it(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 20)
    gateway = fast_gateway(max_attempts=2)
    auth0_env.fail_next(50, 503)
    with pytest.raises(Auth0Unavailable):
        run_sync(gateway=gateway)
    last = runs(db_url)[-1]
    assert last.status == "failed" and "Auth0 unavailable" in (last.error or "")
    assert db_users(db_url) == {}


def test_malformed_records_are_skipped_not_fatal(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 30)
    bad = auth0_env.add_user(email="bad@example.org", username="bad", updated_at="yesterday")
    report = run_sync(gateway=fast_gateway())
    assert report.status == "succeeded"
    assert report.users.skipped == 1 and report.users.created == 30
    assert bad["user_id"] not in db_users(db_url)


def test_members_missing_from_the_database_are_fetched_once(db_url, auth0_env) -> None:
    tenant = build_tenant(auth0_env, 30, {GALAXY: slice(0, 10)})
    report = run_sync(steps=("memberships",), gateway=fast_gateway())
    assert report.users.created == 10
    assert live_ids(db_url) == set(tenant["ids"][:10])
    assert len(auth0_env.requests_to("/api/v2/users/", "GET")) == 10
    assert approved(db_url) == expected_statuses(auth0_env, tenant["roles"])


def test_roles_are_mirrored(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 5)
    extra = auth0_env.add_role("biocommons/role/galaxy/admin")
    run_sync(steps=("roles",), gateway=fast_gateway())
    auth0_env.update_role(extra["id"], name="biocommons/role/galaxy/owner")
    doomed = auth0_env.role_id("biocommons/group/bpa_galaxy")
    auth0_env.delete_role(doomed)
    report = run_sync(steps=("roles",), gateway=fast_gateway())
    assert report.roles == {"created": 0, "updated": 1, "deleted": 1, "unchanged": 4}


def test_sync_status(db_url, auth0_env) -> None:
    build_tenant(auth0_env, 10)
    run_sync(gateway=fast_gateway())
    with db.session_scope(db_url) as session:
        status = sync_status(session)
    assert status.in_progress is False
    assert status.watermark is not None and status.lag_s is not None and status.lag_s >= 0
    assert status.last_success is not None and status.last_success.status == "succeeded"
    assert status.runs[0].counts["users"]["created"] == 10
