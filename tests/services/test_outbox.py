"""Pushing the Auth0 outbox (role changes decided here) to the local Auth0, and the sync's
respect for decisions not yet pushed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import RoleChange, Target, User, utcnow
from aai_cli.services.access import role_outbox
from aai_cli.services.access.memberships import transition
from aai_cli.services.sync import run_sync
from tests.services.sync_helpers import (
    GALAXY,
    build_tenant,
    fast_gateway,
    statuses,
    walk_members_every_run,
)

GALAXY_TARGET = Target("platform", "galaxy")


pytestmark = pytest.mark.usefixtures("fresh_gateway")


def add_user(session, fake, username: str) -> str:  # type: ignore[no-untyped-def]
    remote = fake.add_user(email=f"{username}@example.org", username=username)
    session.add(User(id=remote["user_id"], email=remote["email"], username=username))
    session.flush()
    return remote["user_id"]


def changes(session) -> list[RoleChange]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.exec(select(RoleChange).order_by(RoleChange.id)))


def test_push_assigns_and_removes_roles_in_auth0(session, auth0_env) -> None:
    auth0_env.add_role(GALAXY)
    user_id = add_user(session, auth0_env, "ada")
    transition(session, user_id=user_id, target=GALAXY_TARGET, action="approve", actor="admin")
    session.commit()
    result = role_outbox.push_role_changes(session, fast_gateway())
    session.commit()
    assert result["done"] == 1
    assert auth0_env.user_roles(user_id) == [GALAXY]
    assert changes(session)[0].status == "done" and changes(session)[0].done_at is not None

    transition(
        session, user_id=user_id, target=GALAXY_TARGET, action="revoke", actor="a", reason="r"
    )
    session.commit()
    assert role_outbox.push_role_changes(session, fast_gateway())["done"] == 1
    assert auth0_env.user_roles(user_id) == []


def test_failures_back_off_and_end_dead(session, auth0_env) -> None:
    user_id = add_user(session, auth0_env, "ada")  # the galaxy role does not exist in Auth0
    transition(session, user_id=user_id, target=GALAXY_TARGET, action="approve", actor="admin")
    session.commit()
    gateway = fast_gateway()
    now = utcnow()
    result = role_outbox.push_role_changes(session, gateway, now=now)
    row = changes(session)[0]
    assert result == {
        "attempted": 1,
        "done": 0,
        "failed": 1,
        "dead": 0,
        "waiting": 0,
        "unavailable": 0,
    }
    assert row.attempts == 1 and row.status == "pending"
    assert row.next_attempt_at == now + role_outbox.retry_delay(1)
    assert "does not exist" in (row.last_error or "")
    # not due yet: left alone
    assert role_outbox.push_role_changes(session, gateway, now=now)["attempted"] == 0
    for attempt in range(2, role_outbox.MAX_ATTEMPTS + 1):
        role_outbox.push_role_changes(session, gateway, now=now + timedelta(days=attempt))
    row = changes(session)[0]
    assert row.status == "dead" and row.attempts == role_outbox.MAX_ATTEMPTS


def test_changes_of_one_user_and_role_apply_in_order(session, auth0_env) -> None:
    auth0_env.add_role(GALAXY)
    user_id = add_user(session, auth0_env, "ada")
    later = utcnow() + timedelta(hours=1)
    first = role_outbox.enqueue_role_change(
        session, user_id=user_id, role_name=GALAXY, action="assign"
    )
    first.next_attempt_at = later  # backing off
    role_outbox.enqueue_role_change(session, user_id=user_id, role_name=GALAXY, action="remove")
    session.commit()
    result = role_outbox.push_role_changes(session, fast_gateway())
    assert result["attempted"] == 0 and result["waiting"] == 2
    result = role_outbox.push_role_changes(session, fast_gateway(), now=later)
    assert result["done"] == 2
    assert auth0_env.user_roles(user_id) == []


def test_auth0_down_stops_the_push_at_the_first_row(session, auth0_env) -> None:
    auth0_env.add_role(GALAXY)
    ada, bob = add_user(session, auth0_env, "ada"), add_user(session, auth0_env, "bob")
    role_outbox.enqueue_role_change(session, user_id=ada, role_name=GALAXY, action="assign")
    role_outbox.enqueue_role_change(session, user_id=bob, role_name=GALAXY, action="assign")
    session.commit()
    gateway = fast_gateway(max_attempts=2)
    gateway.role_by_name(GALAXY)  # cached before Auth0 goes down
    auth0_env.fail_next(20, 503)
    result = role_outbox.push_role_changes(session, gateway)
    assert (result["attempted"], result["unavailable"]) == (1, 1)
    first, second = changes(session)
    assert first.attempts == 1 and "Auth0 unavailable" in (first.last_error or "")
    assert second.attempts == 0 and second.status == "pending"


def test_push_only_the_given_ids(session, auth0_env) -> None:
    auth0_env.add_role(GALAXY)
    ada, bob = add_user(session, auth0_env, "ada"), add_user(session, auth0_env, "bob")
    mine = role_outbox.enqueue_role_change(session, user_id=ada, role_name=GALAXY, action="assign")
    role_outbox.enqueue_role_change(session, user_id=bob, role_name=GALAXY, action="assign")
    session.commit()
    assert role_outbox.push_role_changes(session, fast_gateway(), ids=[mine.id])["done"] == 1
    assert auth0_env.user_roles(ada) == [GALAXY] and auth0_env.user_roles(bob) == []


def test_decisions_not_yet_pushed_are_not_undone_by_the_sync(
    db_url, session, auth0_env, settings_env
) -> None:
    walk_members_every_run(settings_env)
    tenant = build_tenant(auth0_env, 10, {GALAXY: slice(0, 3)})
    run_sync(gateway=fast_gateway())
    revoked, granted = tenant["ids"][0], tenant["ids"][5]
    transition(
        session, user_id=revoked, target=GALAXY_TARGET, action="revoke", actor="a", reason="r"
    )
    transition(session, user_id=granted, target=GALAXY_TARGET, action="approve", actor="a")
    for change in changes(session):
        change.next_attempt_at = utcnow() + timedelta(hours=1)  # Auth0 was down: backing off
        session.add(change)
    session.commit()

    report = run_sync(gateway=fast_gateway())
    assert report.memberships.skipped == 2
    state = statuses(db_url)
    assert state[(revoked, "galaxy")] == "revoked"
    assert state[(granted, "galaxy")] == "approved"
    assert GALAXY in auth0_env.user_roles(revoked)  # not pushed yet

    for change in changes(session):
        change.next_attempt_at = utcnow()
        session.add(change)
    session.commit()
    report = run_sync(gateway=fast_gateway())  # pushes first, then reconciles
    assert report.outbox["done"] == 2
    assert auth0_env.user_roles(revoked) == [] and auth0_env.user_roles(granted) == [GALAXY]
    assert report.memberships.granted == report.memberships.revoked == 0


def test_rows_being_pushed_are_left_to_their_worker(session, auth0_env) -> None:
    auth0_env.add_role(GALAXY)
    user_id = add_user(session, auth0_env, "ada")
    role_outbox.enqueue_role_change(session, user_id=user_id, role_name=GALAXY, action="assign")
    role_outbox.enqueue_role_change(session, user_id=user_id, role_name=GALAXY, action="remove")
    session.commit()
    held = auth0_env.hold("POST", r"/api/v2/users/[^/]+/roles")
    first: list[dict] = []

    def first_worker() -> None:
        with session_scope() as own:
            first.append(role_outbox.push_role_changes(own, fast_gateway()))

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert held.wait_arrivals(1)
        # both rows are leased by the first worker: a second one waits for them
        second = role_outbox.push_role_changes(session, fast_gateway())
    finally:
        held.release()
        worker.join(30)
    assert (second["attempted"], second["waiting"]) == (0, 2)
    assert (first[0]["attempted"], first[0]["done"]) == (2, 2)
    assert [(c.action, c.status, c.attempts) for c in changes(session)] == [
        ("assign", "done", 1),
        ("remove", "done", 1),
    ]
    assert auth0_env.user_roles(user_id) == []


def test_a_row_left_by_a_dead_worker_is_pushed_once_its_lease_has_passed(
    session, auth0_env
) -> None:
    auth0_env.add_role(GALAXY)
    user_id = add_user(session, auth0_env, "ada")
    change = role_outbox.enqueue_role_change(
        session, user_id=user_id, role_name=GALAXY, action="assign"
    )
    session.commit()
    now = utcnow()
    # what a worker's claim leaves behind when the worker dies before recording anything
    session.exec(
        update(RoleChange)
        .where(RoleChange.id == change.id)
        .values(next_attempt_at=now + role_outbox.LEASE)
    )
    session.commit()
    assert role_outbox.push_role_changes(session, fast_gateway(), now=now)["waiting"] == 1
    later = now + role_outbox.LEASE + timedelta(seconds=1)
    assert role_outbox.push_role_changes(session, fast_gateway(), now=later)["done"] == 1
    assert auth0_env.user_roles(user_id) == [GALAXY]
