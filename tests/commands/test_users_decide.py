"""`aai users approve/reject/revoke/unrevoke/request/import` through the real CLI."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlmodel import select, update

from aai_cli.commands.users import decide as users_decide
from aai_cli.models import MembershipEvent, PlatformMembership, RoleChange, User, utcnow
from tests.cli import aai
from tests.services.directory_helpers import SBP, add_user, decide


@pytest.fixture
def alice(session):
    user = add_user(session, "alice", 1)
    add_user(session, "bob", 2)
    decide(session, user, SBP, "request")
    session.commit()
    return user


def events(session, user_id="auth0|alice"):
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one otherwise)
    return list(
        session.exec(
            select(MembershipEvent)
            .where(MembershipEvent.user_id == user_id)
            .order_by(MembershipEvent.id)
        )
    )


def status(session, user_id="auth0|alice", platform="sbp"):
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one otherwise)
    row = session.exec(
        select(PlatformMembership).where(
            PlatformMembership.user_id == user_id, PlatformMembership.platform_id == platform
        )
    ).first()
    return row.status if row else None


def test_approve_records_event_and_queues_role(session, alice):
    result = aai("users", "approve", "alice@example.org", "--platform", "sbp")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "pending -> approved" in result.stderr
    assert "queued; will be pushed by the scheduler or the next sync" in result.stderr
    last = events(session)[-1]
    assert (last.from_status, last.to_status) == ("pending", "approved")
    assert last.actor == f"cli:{getpass.getuser()}"
    changes = session.exec(select(RoleChange)).all()
    assert [(c.role_name, c.action, c.status) for c in changes] == [
        ("biocommons/platform/sbp", "assign", "pending")
    ]


def test_repeat_is_a_no_op(session, alice):
    assert aai("users", "approve", "alice", "-p", "sbp").exit_code == 0
    before = len(events(session))
    result = aai("users", "approve", "alice", "-p", "sbp")
    assert result.exit_code == 0
    assert "already approved" in result.stderr
    assert len(events(session)) == before


def test_revoke_needs_reason_and_illegal_transition_lists_allowed(session, alice):
    assert aai("users", "approve", "alice", "-p", "sbp").exit_code == 0
    result = aai("users", "revoke", "alice", "-p", "sbp")
    assert result.exit_code == 2
    assert "reason is required" in result.stderr
    assert status(session) == "approved"
    result = aai(
        "users", "revoke", "alice", "-p", "sbp", "--reason", "left the lab", "--actor", "admin|1"
    )
    assert result.exit_code == 0, result.stderr
    last = events(session)[-1]
    assert (last.to_status, last.actor, last.reason) == ("revoked", "admin|1", "left the lab")
    result = aai("users", "unreject", "alice", "-p", "sbp")
    assert result.exit_code == 3
    assert "allowed: request, approve, unrevoke" in result.stderr
    assert aai("users", "unrevoke", "alice", "-p", "sbp").exit_code == 0
    assert status(session) == "approved"


def test_approve_gives_revoked_access_back(session, alice):
    for args in (("approve",), ("revoke", "--reason", "left the lab")):
        assert aai("users", *args, "alice", "-p", "sbp").exit_code == 0
    result = aai("users", "approve", "alice", "-p", "sbp", "--actor", "admin|2")
    assert result.exit_code == 0, result.stderr
    assert "revoked -> approved" in result.stderr
    last = events(session)[-1]
    assert (last.from_status, last.to_status, last.actor) == ("revoked", "approved", "admin|2")
    session.expire_all()
    membership = session.exec(select(PlatformMembership)).one()
    assert (membership.status, membership.reason) == ("approved", None)
    assert [c.action for c in session.exec(select(RoleChange).order_by(RoleChange.id))] == [
        "assign",
        "remove",
        "assign",
    ]


def test_a_soft_deleted_user_is_not_granted_access(session, alice):
    session.exec(update(User).where(User.id == "auth0|alice").values(deleted_at=utcnow()))
    session.commit()
    result = aai("users", "approve", "alice", "-p", "sbp")
    assert result.exit_code == 3
    assert "deleted" in result.stderr
    assert status(session) == "pending"


def test_reject_and_unreject(session, alice):
    assert aai("users", "reject", "alice", "-p", "sbp", "--reason", "no").exit_code == 0
    assert status(session) == "rejected"
    assert aai("users", "unreject", "alice", "-p", "sbp").exit_code == 0
    assert status(session) == "pending"


def test_request_on_behalf_and_duplicate(session, alice):
    result = aai("users", "request", "bob", "--group", "tsi", "--reason", "joining TSI")
    assert result.exit_code == 0, result.stderr
    (event,) = events(session, "auth0|bob")
    assert (event.group_id, event.to_status, event.reason) == (
        "biocommons/group/tsi",
        "pending",
        "joining TSI",
    )
    result = aai("users", "request", "bob", "--group", "tsi")
    assert result.exit_code == 3
    assert "already pending" in result.stderr


BAD_INPUT = [
    (["approve", "nobody", "-p", "sbp"], 4, "no user 'nobody'"),
    (["approve", "alice", "-p", "sbpp"], 4, "did you mean: sbp"),
    (["approve", "alice", "-g", "tsj"], 4, "unknown group: tsj"),
    (["approve", "alice"], 2, "exactly one of --platform or --group"),
    (["approve", "alice", "-p", "sbp", "-g", "tsi"], 2, "exactly one"),
]


def test_bad_input(session, alice):
    for args, code, message in BAD_INPUT:
        result = aai("users", *args)
        assert result.exit_code == code, args
        assert message in result.stderr
        assert result.stdout == ""
    assert status(session) == "pending"


def test_revoke_asks_on_a_tty(session, alice, monkeypatch):
    assert aai("users", "approve", "alice", "-p", "sbp").exit_code == 0
    monkeypatch.setattr(users_decide, "_interactive", lambda: True)
    result = aai("users", "revoke", "alice", "-p", "sbp", "--reason", "x", input="n\n")
    assert result.exit_code == 1
    assert status(session) == "approved"
    result = aai("users", "revoke", "alice", "-p", "sbp", "--reason", "x", input="y\n")
    assert result.exit_code == 0
    assert status(session) == "revoked"
    assert aai("users", "unrevoke", "alice", "-p", "sbp", "--yes").exit_code == 0  # never asks


def test_approve_pushes_to_auth0_when_configured(session, alice, auth0_env):
    role = auth0_env.add_role("biocommons/platform/sbp")
    auth0_env.add_user(user_id="auth0|alice", email="alice@example.org")
    result = aai("users", "approve", "alice", "-p", "sbp")
    assert result.exit_code == 0, result.stderr
    assert auth0_env.user_roles("auth0|alice") == ["biocommons/platform/sbp"]
    assert auth0_env.role_members(role["id"]) == ["auth0|alice"]
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one otherwise)
    (change,) = session.exec(select(RoleChange)).all()
    assert change.status == "done"
    result = aai("users", "revoke", "alice", "-p", "sbp", "--reason", "gone")
    assert result.exit_code == 0, result.stderr
    assert auth0_env.user_roles("auth0|alice") == []


def test_refused_management_credentials_keep_the_decision_and_queue_the_push(
    session, alice, auth0_env, settings_env
):

    auth0_env.add_role("biocommons/platform/sbp")
    settings_env(AUTH0_MANAGEMENT_SECRET="s3cr3t-wrong-value")
    result = aai("users", "approve", "alice", "-p", "sbp")
    assert result.exit_code == 0, result.stderr
    assert "pending -> approved" in result.stderr
    assert "Auth0 refused the management client credentials (HTTP 401)" in result.stderr
    assert "queued; will be pushed by the scheduler or the next sync" in result.stderr
    assert "s3cr3t" not in result.stderr
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one otherwise)
    (change,) = session.exec(select(RoleChange)).all()
    assert (change.status, change.attempts, change.last_error) == ("pending", 0, None)


# --- import ------------------------------------------------------------------------


def write(tmp_path, name: str, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_applies_in_batches(session, alice, tmp_path):
    path = write(
        tmp_path,
        "decisions.csv",
        "user,platform,group,action,reason\n"
        "alice,sbp,,approve,legacy list\n"
        "bob@example.org,,tsi,request,migrated\n"
        "bob,,tsi,approve,\n"
        "alice,sbp,,approve,\n",
    )
    result = aai("users", "import", path, "--batch-size", "2", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["changed"] == 3 and report["unchanged"] == 1 and report["batches"] == 2
    assert report["by_action"] == {"approve": 2, "request": 1}
    assert status(session) == "approved"
    assert [e.to_status for e in events(session, "auth0|bob")] == ["pending", "approved"]


def test_import_invalid_rows_apply_nothing(session, alice, tmp_path):
    path = write(
        tmp_path,
        "decisions.jsonl",
        '{"user": "alice", "platform": "sbp", "action": "approve"}\n'
        '{"user": "ghost", "platform": "sbp", "action": "approve"}\n'
        '{"user": "bob", "platform": "nope", "action": "approve"}\n'
        '{"user": "bob", "platform": "sbp", "action": "revoke", "reason": "x"}\n'
        '{"user": "bob", "group": "tsi", "action": "reject"}\n'
        '{"user": "bob", "platform": "sbp", "action": "promote"}\n',
    )
    before = len(events(session))
    result = aai("users", "import", path)
    assert result.exit_code == 2
    assert "5 of 6 rows are invalid; nothing was applied" in result.stderr
    for line in (2, 3, 4, 5, 6):
        assert f"decisions.jsonl:{line}:" in result.stderr
    assert "decisions.jsonl:1:" not in result.stderr
    assert len(events(session)) == before
    assert status(session) == "pending"
    assert session.exec(select(RoleChange)).all() == []


def test_import_dry_run_changes_nothing(session, alice, tmp_path):
    path = write(tmp_path, "d.csv", "user,platform,action\nalice,sbp,approve\nalice,sbp,revoke\n")
    result = aai("users", "import", path, "--dry-run")
    assert result.exit_code == 2  # revoke without a reason
    path = write(tmp_path, "d.csv", "user,platform,action\nalice,sbp,approve\n")
    result = aai("users", "import", path, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["changed"] == 1
    assert status(session) == "pending"


def test_import_bad_file(session, alice, tmp_path):
    result = aai("users", "import", write(tmp_path, "x.csv", "who,what\nalice,approve\n"))
    assert result.exit_code == 2 and "unknown columns" in result.stderr
    result = aai("users", "import", write(tmp_path, "x.jsonl", '{"user": "alice"\n'))
    assert result.exit_code == 2 and "x.jsonl:1: not valid JSON" in result.stderr
    result = aai("users", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 4
