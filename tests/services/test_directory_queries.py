"""The admin lists' filters: filter_by, the caller left out, the visibility rule, the
badge counts, and the inputs that are refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aai_cli.errors import InvalidInput, NotFound
from aai_cli.models import Group, utcnow
from aai_cli.services import directory
from aai_cli.services.directory.query import AdminScope, UserQuery
from tests.services.directory_helpers import (
    GALAXY_ADMIN,
    TSI_ADMIN,
    count_statements,
    ids,
)

SBP_ADMIN = AdminScope(platforms=frozenset({"sbp"}))
SBP_AND_TSI = AdminScope(platforms=frozenset({"sbp"}), groups=frozenset({"biocommons/group/tsi"}))

# people: alice galaxy approved + sbp pending; bob sbp rejected + tsi approved;
# carol tsi pending; dave nothing; erin soft-deleted (galaxy approved).
CASES = [
    (None, UserQuery(filter_by="sbp"), ["alice", "bob"]),
    (None, UserQuery(filter_by="tsi"), ["bob", "carol"]),
    (None, UserQuery(filter_by="galaxy", status="pending"), ["alice"]),  # each on its own
    (None, UserQuery(exclude="auth0|alice"), ["bob", "carol", "dave"]),
    (None, UserQuery(exclude="auth0|nobody"), ["alice", "bob", "carol", "dave"]),
    (TSI_ADMIN, UserQuery(exclude="auth0|alice"), ["bob", "carol"]),  # not one of the matches
    (TSI_ADMIN, UserQuery(exclude="auth0|erin"), ["bob", "carol"]),  # soft-deleted
    (None, UserQuery(search="  ALI "), ["alice"]),  # trimmed
    # platform filters stay on the caller's platforms
    (TSI_ADMIN, UserQuery(filter_by="sbp"), []),
    (GALAXY_ADMIN, UserQuery(platform="sbp"), []),
    # group filters match any group; visibility still applies
    (SBP_ADMIN, UserQuery(filter_by="tsi"), ["bob"]),
    (SBP_ADMIN, UserQuery(group="biocommons/group/tsi"), ["bob"]),
    (GALAXY_ADMIN, UserQuery(filter_by="tsi"), []),
    # approval_status: a membership in that status the caller administers
    (SBP_ADMIN, UserQuery(status="pending"), ["alice"]),
    (TSI_ADMIN, UserQuery(status="pending"), ["carol"]),
    (SBP_AND_TSI, UserQuery(status="rejected"), ["bob"]),
    (TSI_ADMIN, UserQuery(status="rejected"), []),
    # a target and its status on the same membership
    (None, UserQuery(group="biocommons/group/tsi", group_status="pending"), ["carol"]),
    (SBP_AND_TSI, UserQuery(platform_status="pending"), ["alice"]),
]


@pytest.mark.parametrize(("scope", "query", "expected"), CASES)
def test_portal_filters(session, people, scope, query, expected):
    assert ids(directory.list_users(session, query, scope=scope)) == expected
    assert directory.count_users(session, query, scope=scope) == len(expected)


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (UserQuery(filter_by="nope"), InvalidInput, "Invalid filter_by value 'nope'"),
        (UserQuery(filter_by="biocommons/group/tsi"), InvalidInput, "Invalid filter_by value"),
        (UserQuery(platform="nope"), NotFound, "Platform 'nope' not found"),
        (UserQuery(group="biocommons/group/nope"), NotFound, "Group 'biocommons/group/nope'"),
        (
            UserQuery(status="pending", platform_status="revoked"),
            InvalidInput,
            "approval_status cannot be used with platform_approval_status or group_approval_status",
        ),
        (UserQuery(status="pending", group_status="revoked"), InvalidInput, "approval_status"),
        (UserQuery(search="a\x00"), InvalidInput, "control characters"),
        (UserQuery(search="a\x1bb"), InvalidInput, "control characters"),
        (UserQuery(search="a\nb"), InvalidInput, "control characters"),
    ],
)
def test_refused_queries(session, people, query, error, message):
    with pytest.raises(error, match=message):
        directory.list_users(session, query, scope=TSI_ADMIN)
    with pytest.raises(error):
        directory.count_users(session, query)


BADGE_CASES = [
    (None, UserQuery(), {"all": 4, "pending": 2, "revoked": 0, "unverified": 2}),
    (TSI_ADMIN, UserQuery(), {"all": 2, "pending": 1, "revoked": 0, "unverified": 1}),
    (SBP_ADMIN, UserQuery(), {"all": 2, "pending": 1, "revoked": 0, "unverified": 1}),
    (SBP_ADMIN, UserQuery(exclude="auth0|alice"), {"all": 1, "pending": 0, "revoked": 0,
                                                  "unverified": 1}),
    (None, UserQuery(filter_by="tsi"), {"all": 2, "pending": 1, "revoked": 0, "unverified": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("scope", "query", "expected"), BADGE_CASES)
def test_badge_counts_agree_with_the_lists(session, people, scope, query, expected):
    counts = directory.badge_counts(session, query, scope=scope)
    assert counts == expected
    # each badge is the total of the list it stands for
    for name, narrowed in (
        ("pending", replace(query, status="pending")),
        ("revoked", replace(query, status="revoked")),
        ("unverified", replace(query, email_verified=False)),
    ):
        assert directory.count_users(session, narrowed, scope=scope) == counts[name], name


def test_badge_counts_take_one_statement_after_the_slots(session, people):
    with count_statements(session) as statements:
        directory.badge_counts(session, UserQuery(), scope=SBP_AND_TSI)
    assert len(statements) == 2, statements


def test_filter_options_are_platforms_then_offered_groups_by_their_last_part(session):
    assert directory.filter_options(session) == [
        ("galaxy", "Galaxy Australia"),
        ("bpa_data_portal", "Bioplatforms Australia Data Portal"),
        ("sbp", "Structural Biology Platform"),
        ("tsi", "Threatened Species Initiative"),
        ("sbp_workflow_execution", "Structural Biology Platform Bundle"),
    ]
    for option, _ in directory.filter_options(session):
        directory.count_users(session, UserQuery(filter_by=option))  # every one is accepted
    session.get(Group, "biocommons/group/tsi").retired_at = utcnow()
    session.flush()
    assert "tsi" not in [option for option, _ in directory.filter_options(session)]
    assert directory.count_users(session, UserQuery(filter_by="tsi")) == 0  # still accepted
