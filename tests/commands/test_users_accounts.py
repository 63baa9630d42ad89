"""`aai users rename|set-email|reset-password|delete|restore` and the identity history of
`aai users show`, through the real CLI against the local Auth0, on SQLite and Postgres."""

from __future__ import annotations

import json

import pytest

from aai_cli.commands.users import accounts as users_accounts
from aai_cli.models import User
from tests.cli import aai
from tests.services.accounts.accounts_util import fresh, history, make_user, outbox

pytestmark = pytest.mark.usefixtures("fresh_gateway")


@pytest.fixture
def ada(auth0_env, session, quick_gateway) -> str:  # type: ignore[no-untyped-def]
    return make_user(auth0_env, session, "ada")


def test_rename_json_and_history_in_show(session, auth0_env, ada):
    result = aai("users", "rename", "ada", "--username", "countess", "--actor", "cli:ops", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "user_id": ada,
        "kind": "username",
        "old_value": "ada",
        "new_value": "countess",
        "actor": "cli:ops",
        "reason": None,
        "role_change_ids": [],
        "emails": 1,
        "problems": [],
    }
    assert auth0_env.get_user(ada)["username"] == "countess"
    shown = aai("users", "show", "countess", "--json")
    assert shown.exit_code == 0, shown.stderr
    [event] = json.loads(shown.stdout)["identity_history"]
    assert {k: event[k] for k in ("kind", "old_value", "new_value", "actor")} == {
        "kind": "username",
        "old_value": "ada",
        "new_value": "countess",
        "actor": "cli:ops",
    }
    table = aai("users", "show", "countess")
    assert table.exit_code == 0 and "identity history" in table.stdout
    assert "cli:ops" in table.stdout


def test_exit_codes(session, auth0_env, ada):
    make_user(auth0_env, session, "alan")
    cases = [
        (("users", "rename", "ada", "--username", "alan"), 2, "Username is already taken"),
        (("users", "rename", "ada", "--username", "Bad Name"), 2, "lowercase"),
        (("users", "rename", "nobody", "--username", "x_y_z"), 4, "no user 'nobody'"),
        (("users", "set-email", "ada", "alan@example.org"), 2, "already in use"),
        (("users", "restore", "ada", "--yes"), 3, "is not deleted"),
    ]
    for args, code, message in cases:
        result = aai(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert message in result.stderr
        assert result.stdout == ""
    auth0_env.fail_next(2, 503)
    down = aai("users", "rename", "ada", "--username", "countess")
    assert down.exit_code == 5 and "Auth0 unavailable" in down.stderr
    assert fresh(session).get(User, ada).username == "ada"


def test_set_email_and_reset_password(session, auth0_env, ada):
    result = aai("users", "set-email", "ada", "ada@new.example.org")
    assert result.exit_code == 0, result.stderr
    assert "email ada@example.org -> ada@new.example.org" in result.stderr
    assert auth0_env.verification_emails == [ada]
    result = aai("users", "reset-password", "ada", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "password_reset"
    assert [m[:2] for m in outbox(session)] == [
        ("email_changed", "ada@example.org"),
        ("password_reset", "ada@new.example.org"),
    ]


def test_delete_asks_on_a_tty_and_restore_reverses_it(session, auth0_env, ada, monkeypatch):
    monkeypatch.setattr(users_accounts, "interactive", lambda: True)
    result = aai("users", "delete", "ada", "--reason", "left", input="n\n")
    assert result.exit_code == 1
    assert fresh(session).get(User, ada).deleted_at is None
    result = aai("users", "delete", "ada", "--reason", "left", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert fresh(session).get(User, ada).deleted_at is not None
    assert auth0_env.get_user(ada)["blocked"] is True
    result = aai("users", "restore", ada, "--reason", "back", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "restored"
    assert [e[0] for e in history(session, ada)] == ["deleted", "restored"]


def test_delete_needs_a_reason_and_never_prompts_without_a_terminal(session, ada):
    assert aai("users", "delete", "ada").exit_code == 2
    result = aai("users", "delete", "ada", "--reason", "left", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reason"] == "left"


def test_without_auth0_configured_nothing_changes(session, db_url):
    session.add(User(id="auth0|solo", email="solo@example.org", username="solo"))
    session.commit()
    result = aai("users", "rename", "solo", "--username", "duo")
    assert result.exit_code == 6
    assert fresh(session).get(User, "auth0|solo").username == "solo"
