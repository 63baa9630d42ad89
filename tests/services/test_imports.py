"""Bulk decisions: parsing, validation through the real service (rolled back), batches."""

from __future__ import annotations

import pytest
from sqlmodel import select

from aai_cli.errors import Conflict, InvalidInput
from aai_cli.models import MembershipEvent, RoleChange
from aai_cli.services.access import imports
from aai_cli.services.access.imports import ImportRow
from tests.services.directory_helpers import add_user


def test_parse_csv_rows_with_line_numbers():
    rows = imports.parse_csv(
        "User,Platform,Group,Action,Reason\n"
        "alice,sbp,,Approve,legacy\n"
        "bob,,biocommons/group/tsi,request,\n"
    )
    assert rows == [
        ImportRow(line=2, user="alice", action="approve", platform="sbp", reason="legacy"),
        ImportRow(line=3, user="bob", action="request", group="biocommons/group/tsi"),
    ]


def test_parse_jsonl_skips_blank_lines():
    rows = imports.parse_jsonl(
        '\n{"user": "a", "group": "tsi", "action": "reject", "reason": "no"}\n'
    )
    assert rows == [ImportRow(line=2, user="a", action="reject", group="tsi", reason="no")]


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (imports.parse_csv, "user,role,action\n", "unknown columns role"),
        (imports.parse_csv, "platform,reason\n", "header needs user, action"),
        (imports.parse_csv, "user,platform,action\na,sbp,approve,extra\n", ":2: more values"),
        (imports.parse_jsonl, '["a"]\n', "expected a JSON object"),
        (imports.parse_jsonl, '{"user": "a", "team": "x"}\n', "unknown columns team"),
    ],
)
def test_malformed_input(parse, text, message):
    with pytest.raises(InvalidInput, match=message):
        parse(text)


@pytest.fixture
def users(session):
    add_user(session, "alice", 1)
    add_user(session, "bob", 2)
    session.commit()


def test_check_follows_earlier_rows_and_writes_nothing(session, users):
    rows = [
        ImportRow(line=2, user="alice", action="request", platform="sbp"),
        ImportRow(line=3, user="alice", action="approve", platform="sbp"),  # legal after line 2
        ImportRow(line=4, user="alice", action="reject", platform="sbp", reason="x"),  # not now
        ImportRow(line=5, user="bob", action="approve", platform="sbp", group="tsi"),
        ImportRow(line=6, user="bob", action="reject", group="tsi"),  # no reason, no membership
        ImportRow(line=7, user="", action="approve", platform="sbp"),
    ]
    report = imports.check_rows(session, rows, actor="test")
    assert [e.line for e in report.errors] == [4, 5, 6, 7]
    assert "cannot reject" in report.errors[0].message
    assert "exactly one of platform or group" in report.errors[1].message
    assert (report.changed, report.unchanged) == (2, 0)
    assert session.exec(select(MembershipEvent)).all() == []
    assert session.exec(select(RoleChange)).all() == []


def test_apply_rows_returns_outbox_ids(session, users):
    rows = [
        ImportRow(line=2, user="alice", action="approve", platform="sbp"),
        ImportRow(line=3, user="bob", action="request", group="tsi"),
        ImportRow(line=4, user="alice", action="approve", platform="sbp"),
    ]
    report = imports.apply_rows(session, rows, actor="migration")
    session.commit()
    assert (report.changed, report.unchanged) == (2, 1)
    changes = session.exec(select(RoleChange)).all()
    assert [c.id for c in changes] == report.role_change_ids
    assert [(c.user_id, c.role_name) for c in changes] == [
        ("auth0|alice", "biocommons/platform/sbp")
    ]
    actors = {e.actor for e in session.exec(select(MembershipEvent))}
    assert actors == {"migration"}


def test_apply_rows_aborts_on_the_first_bad_row(session, users):
    rows = [ImportRow(line=9, user="alice", action="revoke", platform="sbp", reason="x")]
    with pytest.raises(Conflict, match="line 9: cannot revoke"):
        imports.apply_rows(session, rows, actor="migration")
