"""`aai users list/show/pending/export` through the real CLI on SQLite and Postgres."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli import aai
from tests.services.directory_helpers import GALAXY, SBP, T0, TSI, add_user, decide


@pytest.fixture
def people(session):
    alice = add_user(session, "alice", 1, email_verified=True, name="Alice A")
    bob = add_user(session, "bob", 2)
    carol = add_user(session, "carol", 3, blocked=True)
    add_user(session, "erin", 5, deleted_at=T0)
    decide(session, alice, GALAXY, "request")
    decide(session, alice, SBP, "request")
    decide(session, bob, SBP, "request", "reject")
    decide(session, carol, TSI, "request")
    session.commit()
    return {"alice": alice, "bob": bob, "carol": carol}


def test_list_json_has_users_and_memberships(people):
    result = aai("users", "list", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [u["id"] for u in data] == ["auth0|alice", "auth0|bob", "auth0|carol"]
    alice = data[0]
    assert alice["name"] == "Alice A" and alice["email_verified"] is True
    assert alice["created_at"].startswith("2025-01-01T00:01:00")
    assert [(m["platform_id"], m["status"]) for m in alice["platform_memberships"]] == [
        ("galaxy", "approved"),
        ("sbp", "pending"),
    ]
    assert {"updated_at", "reason", "request_reason"} <= set(alice["platform_memberships"][0])
    assert result.stderr == ""


LIST_CASES = [
    (["--platform", "sbp"], ["alice", "bob"]),
    (["--platform", "sbp", "--status", "rejected"], ["bob"]),
    (["--status", "pending"], ["alice", "carol"]),
    (["--group", "tsi"], ["carol"]),
    (["--search", "BO"], ["bob"]),
    (["--email-verified"], ["alice"]),
    (["--no-email-verified"], ["bob", "carol"]),
    (["--blocked"], ["carol"]),
    (["--deleted"], ["erin"]),
    (["--limit", "1", "--offset", "1"], ["bob"]),
]


def test_list_filters_csv(people):
    for args, expected in LIST_CASES:
        result = aai("users", "list", "--csv", *args)
        assert result.exit_code == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["id"].removeprefix("auth0|") for r in rows] == expected, args
        if expected and expected[0] == "alice":
            assert rows[0]["platforms"] == "galaxy:approved;sbp:pending"


def test_list_table(people):
    result = aai("users", "list", "--platform", "galaxy")
    assert result.exit_code == 0, result.stderr
    assert "auth0|alice" in result.stdout and "galaxy:approved" in result.stdout
    assert "auth0|bob" not in result.stdout


def test_list_json_and_csv_is_a_usage_error(people):
    result = aai("users", "list", "--json", "--csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--json and --csv" in result.stderr


def test_unknown_platform_suggests(people):
    result = aai("users", "list", "--platform", "galaxie", "--json")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "unknown platform: galaxie" in result.stderr and "galaxy" in result.stderr


def test_bad_status_exit_2(people):
    result = aai("users", "list", "--status", "maybe")
    assert result.exit_code == 2
    assert "unknown status" in result.stderr


def test_show_json_with_history(people):
    result = aai("users", "show", "alice@example.org", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == "auth0|alice"
    assert [(e["platform_id"], e["from_status"], e["to_status"]) for e in data["history"]] == [
        ("galaxy", None, "approved"),
        ("sbp", None, "pending"),
    ]
    assert data["history"][0]["actor"] == "t"


def test_show_table_and_unknown_user(people):
    result = aai("users", "show", "bob")
    assert result.exit_code == 0, result.stderr
    assert "rejected" in result.stdout and "history" in result.stdout
    result = aai("users", "show", "bobb")
    assert result.exit_code == 4
    assert "no user 'bobb'" in result.stderr and "did you mean" in result.stderr


def test_pending_oldest_first(people):
    result = aai("users", "pending", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(p["user_id"], p["target_id"]) for p in data] == [
        ("auth0|alice", "sbp"),
        ("auth0|carol", "biocommons/group/tsi"),
    ]
    assert data[0]["request_reason"] == "r" and data[0]["age_s"] >= 0
    result = aai("users", "pending", "--group", "TSI", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["user_id"] for r in rows] == ["auth0|carol"]
    assert aai("users", "pending", "--platform", "sbp", "--group", "tsi").exit_code == 2


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_to_file(people, tmp_path, fmt):
    target = tmp_path / f"users.{fmt}"
    result = aai("users", "export", "--format", fmt, "--output", str(target), "--status", "pending")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "exported 2 users" in result.stderr
    text = target.read_text()
    if fmt == "csv":
        ids = [r["id"] for r in csv.DictReader(io.StringIO(text))]
    else:
        ids = [json.loads(line)["id"] for line in text.splitlines()]
    assert ids == ["auth0|alice", "auth0|carol"]


def test_export_to_stdout_and_bad_format(people):
    result = aai("users", "export", "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 and lines[2]["group_memberships"][0]["status"] == "pending"
    assert aai("users", "export", "--format", "xml").exit_code == 2
