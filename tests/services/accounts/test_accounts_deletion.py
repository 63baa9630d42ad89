"""Deleting and restoring an account, the identity history the sync writes, and a change
made while a sync runs."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from aai_cli.errors import Auth0Unavailable, NotFound
from aai_cli.models import PlatformMembership, RoleChange, Target, User
from aai_cli.services import accounts
from aai_cli.services.access import memberships
from aai_cli.services.accounts.results import FieldInvalid
from aai_cli.services.sync.runner import run_sync
from tests.services.accounts.accounts_util import fresh, history, make_user, outbox, state

ADMIN = "auth0|admin"


@pytest.fixture
def ada(auth0_env, session) -> str:  # type: ignore[no-untyped-def]
    user_id = make_user(auth0_env, session, "ada")
    for action, target in (("approve", "galaxy"), ("request", "sbp")):
        memberships.transition(
            session, user_id=user_id, target=Target("platform", target), action=action,
            actor=ADMIN,
        )  # fmt: skip
    session.commit()
    return user_id


def role_changes(session, user_id):
    fresh(session)
    query = select(RoleChange.role_name, RoleChange.action).where(
        RoleChange.user_id == user_id, RoleChange.status == "pending"
    )
    return sorted(session.exec(query).all())


def test_self_deletion_blocks_revokes_and_soft_deletes(session, gateway, auth0_env, ada):
    auth0_env.open_session(ada)
    session.exec(select(RoleChange)).all()
    before_roles = role_changes(session, ada)
    change = accounts.delete(ada, actor=ada, reason=None, gateway=gateway)
    assert (change.kind, change.reason, change.problems) == ("deleted", "User self-deletion", [])
    remote = auth0_env.get_user(ada)
    assert remote["blocked"] is True
    assert (auth0_env.sessions_of(ada), auth0_env.refresh_tokens_of(ada)) == (0, 0)
    user = fresh(session).get(User, ada)
    assert user.deleted_at is not None and user.blocked
    assert history(session, ada) == [("deleted", None, None, ada, "User self-deletion")]
    statuses = session.exec(select(PlatformMembership.platform_id, PlatformMembership.status))
    assert sorted(statuses) == [("galaxy", "approved"), ("sbp", "pending")]  # kept
    assert role_changes(session, ada) == sorted(
        [*before_roles, ("biocommons/platform/galaxy", "remove")]
    )
    assert len(change.role_change_ids) == 1
    assert [m[:2] for m in outbox(session)][-1] == ("account_deleted", "ada@example.org")
    with pytest.raises(NotFound):  # deleted: no further change
        accounts.rename(ada, username="countess", actor=ADMIN, gateway=gateway)


def test_admin_deletion_records_who_and_why_and_restore_reverses_it(
    session, gateway, auth0_env, ada
):
    accounts.delete(ada, actor=ADMIN, reason="left the project", gateway=gateway)
    change = accounts.restore(ada, actor=ADMIN, reason="came back", gateway=gateway)
    assert change.kind == "restored"
    assert auth0_env.get_user(ada)["blocked"] is False
    user = fresh(session).get(User, ada)
    assert user.deleted_at is None and not user.blocked
    assert history(session, ada) == [
        ("deleted", None, None, ADMIN, "left the project"),
        ("restored", None, None, ADMIN, "came back"),
    ]
    queued = [c for c in role_changes(session, ada) if c[0] == "biocommons/platform/galaxy"]
    assert ("biocommons/platform/galaxy", "assign") in queued


def test_auth0_down_deletes_nothing_and_a_failed_revoke_is_reported(
    session, gateway, auth0_env, ada
):
    before = state(session, ada)
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        accounts.delete(ada, actor=ADMIN, reason="x", gateway=gateway)
    assert state(session, ada) == before
    assert "blocked" not in auth0_env.get_user(ada)
    auth0_env.fail_next(
        2, 503, path_prefix="/api/v2/users/" + ada.replace("|", "%7C") + "/sessions"
    )
    change = accounts.delete(ada, actor=ADMIN, reason="x", gateway=gateway)
    assert len(change.problems) == 1 and "sessions not revoked" in change.problems[0]
    assert fresh(session).get(User, ada).deleted_at is not None


def test_delete_for_an_invalid_email_tells_the_correct_address(session, gateway, auth0_env):
    typo = make_user(auth0_env, session, "typo", email="ada@exampel.org", email_verified=False)
    change = accounts.delete_invalid_email(
        typo, correct_email=" Ada@Example.org ", actor=ADMIN, gateway=gateway
    )
    assert change.reason == "invalid email ada@exampel.org; correct address ada@example.org"
    assert [m[:2] for m in outbox(session)] == [
        ("account_deleted_invalid_email", "ada@example.org")
    ]
    verified = make_user(auth0_env, session, "verified")
    with pytest.raises(Exception, match="verified"):
        accounts.delete_invalid_email(
            verified, correct_email="v@example.org", actor=ADMIN, gateway=gateway
        )
    with pytest.raises(FieldInvalid):
        accounts.delete(verified, actor=ADMIN, reason="x" * 1025, gateway=gateway)


def test_the_sync_keeps_a_deleted_blocked_account_deleted_and_records_what_it_sees(
    session, gateway, auth0_env, ada
):
    accounts.delete(ada, actor=ADMIN, reason="gone", gateway=gateway)
    alan = make_user(auth0_env, session, "alan", name="Alan")
    auth0_env.update_user(alan, username="turing", email="alan@new.example.org", name="A. Turing")
    auth0_env.update_user(alan, blocked=True)
    report = run_sync(mode="full", gateway=gateway)
    assert report.users.restored == 0
    assert fresh(session).get(User, ada).deleted_at is not None
    assert history(session, alan) == [
        ("username", "alan", "turing", "system:sync", "changed in Auth0"),
        ("email", "alan@example.org", "alan@new.example.org", "system:sync", "changed in Auth0"),
        ("name", "Alan", "A. Turing", "system:sync", "changed in Auth0"),
        ("blocked", None, None, "system:sync", None),
    ]
    auth0_env.update_user(ada, blocked=False)  # unblocked in Auth0: live again
    assert run_sync(mode="full", gateway=gateway).users.restored == 1
    assert history(session, ada)[-2:] == [
        ("restored", None, None, "system:sync", "live in Auth0"),
        ("unblocked", None, None, "system:sync", None),
    ]
    auth0_env.delete_user(alan)
    run_sync(mode="full", gateway=gateway)
    assert history(session, alan)[-1] == ("deleted", None, None, "system:sync", "deleted in Auth0")


def test_a_rename_and_a_sync_at_the_same_time_end_consistent(session, gateway, auth0_env, ada):
    run_sync(mode="full", gateway=gateway)
    held = auth0_env.hold("PATCH", r"/api/v2/users/[^/]+")
    errors: list[BaseException] = []

    def rename() -> None:
        try:
            accounts.rename(ada, username="countess", actor=ADMIN, gateway=gateway)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=rename)
    worker.start()
    assert held.wait_arrivals(1)
    run_sync(mode="full", gateway=gateway)  # reads Auth0 while the change is in flight
    held.release()
    worker.join(30)
    assert errors == []
    run_sync(mode="incremental", gateway=gateway)
    assert fresh(session).get(User, ada).username == "countess"
    assert auth0_env.get_user(ada)["username"] == "countess"
    kinds = [(e[0], e[1], e[2]) for e in history(session, ada)]
    assert kinds[0] == ("username", "ada", "countess")
