"""No transaction is held open while Auth0 answers: one `aai` process pushes a role change
to an Auth0 that holds its answer, while another process decides on the same database.

The local Auth0 holds the role assignment until the test releases it (no sleeps): before
the fix the pushing process kept SQLite's write lock (BEGIN IMMEDIATE) for the whole call,
so the other decision failed after the 5 s busy timeout with "database is unavailable",
and on PostgreSQL its connection sat `idle in transaction`.
"""

from __future__ import annotations

import subprocess

from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import RoleChange, User
from tests.processes import killed_after, spawn_aai
from tests.transactions import transactions_left_open

GALAXY = "biocommons/platform/galaxy"
ROLE_ASSIGNMENT = r"/api/v2/users/[^/]+/roles"
MANAGEMENT_CLIENT = ("AUTH0_MANAGEMENT_ID", "AUTH0_MANAGEMENT_SECRET")


def approve(username: str, *, db_url: str, with_auth0: bool) -> subprocess.Popen[str]:
    """`aai users approve USER --platform galaxy` in a process of its own; without Auth0's
    management client it records the decision and leaves the role change queued."""
    removed = {name: None for name in MANAGEMENT_CLIENT if not with_auth0}
    return spawn_aai(
        "users", "approve", username, "--platform", "galaxy", env={"DB_URL": db_url, **removed}
    )


def add_users(fake, *usernames: str) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    with session_scope() as session:
        for username in usernames:
            remote = fake.add_user(email=f"{username}@example.org", username=username)
            session.add(User(id=remote["user_id"], email=remote["email"], username=username))
            ids.append(remote["user_id"])
    return ids


def role_changes() -> dict[str, str]:
    with session_scope(readonly=True) as session:
        return {c.user_id: c.status for c in session.exec(select(RoleChange))}


def test_a_decision_goes_through_while_another_process_waits_on_auth0(db_url, auth0_env):  # type: ignore[no-untyped-def]
    auth0_env.add_role(GALAXY)
    ada, bob = add_users(auth0_env, "ada", "bob")
    held = auth0_env.hold("POST", ROLE_ASSIGNMENT)
    pusher = approve("ada", db_url=db_url, with_auth0=True)
    with killed_after(pusher, 120):
        assert held.wait_arrivals(1, timeout_s=60), "the push never reached Auth0"
        # while Auth0 holds its answer, another process decides on the same database
        writer = approve("bob", db_url=db_url, with_auth0=False)
        with killed_after(writer, 60):
            _, errors = writer.communicate()
        assert writer.returncode == 0, errors
        assert "none -> approved" in errors and "queued" in errors
        assert "database" not in errors
        # and the pushing process holds no transaction at all
        assert transactions_left_open(db_url) == []
        held.release()
        _, pushed = pusher.communicate()
    assert pusher.returncode == 0, pushed
    assert auth0_env.user_roles(ada) == [GALAXY]
    assert auth0_env.user_roles(bob) == []
    assert role_changes() == {ada: "done", bob: "pending"}
