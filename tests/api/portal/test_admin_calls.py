"""The portal's admin calls, each built as the portal sends it (path, query names, booleans
as 'true'/'false', bodies `{}` or `{"reason": ...}`, a bearer token and a JSON content
type), asserting every field the portal reads and the semantics it relies on.

The world: a BioCommons admin (all three platforms and TSI) who is also a user, a Galaxy
admin, a TSI admin, and these users, newest first:

| user | created | memberships | email |
|---|---|---|---|
| eve  | day 5 | galaxy approved (soft-deleted user) | verified |
| dan  | day 4 | sbp pending, TSI rejected ("not a member") | verified |
| cat  | day 3 | galaxy revoked ("left the lab") | unverified |
| ben  | day 2 | galaxy approved, TSI pending ("for TSI work") | unverified |
| amy  | day 1 | galaxy approved, bpa_data_portal approved, TSI approved | verified |
| boss | day 0 | galaxy approved (the BioCommons admin) | verified |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import update

from aai_cli import db
from aai_cli.models import Platform, Target, User
from aai_cli.services.access.memberships import transition
from tests.api.conftest import GALAXY_ADMIN, SBP_ADMIN, TSI, TSI_ADMIN, add_user

BPA_ADMIN = "biocommons/role/bpa_data_portal/admin"
BIOCOMMONS = [GALAXY_ADMIN, BPA_ADMIN, SBP_ADMIN, TSI_ADMIN]
BOSS = "auth0|boss"
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
ISO_UTC = ("Z", "+00:00")
PLATFORM_FIELDS = {
    "id", "platform_id", "platform_name", "user_id", "approval_status", "updated_by",
    "updated_at", "revocation_reason", "rejection_reason", "request_reason",
}  # fmt: skip
GROUP_FIELDS = {
    "id", "group_id", "group_name", "group_short_name", "user_id", "approval_status",
    "updated_by", "updated_at", "revocation_reason", "rejection_reason", "request_reason",
    "requested_at",
}  # fmt: skip


def _decide(db_url: str, user: str, target: Target, action: str, actor: str, reason=None):  # type: ignore[no-untyped-def]
    with db.session_scope(db_url) as session:
        transition(
            session, user_id=user, target=target, action=action,  # type: ignore[arg-type]
            actor=actor, reason=reason, push_to_auth0=False,
        )  # fmt: skip


GALAXY, BPA, SBP, GROUP = (
    Target("platform", "galaxy"),
    Target("platform", "bpa_data_portal"),
    Target("platform", "sbp"),
    Target("group", TSI),
)


@pytest.fixture
def world(api):
    url = api.db_url
    add_user(url, "auth0|admin", email="admin@example.org", created_at=DAY0)
    for day, name, verified in [
        (0, "boss", True), (1, "amy", True), (2, "ben", False), (3, "cat", False),
        (4, "dan", True), (5, "eve", True),
    ]:  # fmt: skip
        add_user(
            url, f"auth0|{name}", created_at=DAY0 + timedelta(days=day), email_verified=verified
        )
    _decide(url, BOSS, GALAXY, "approve", "system:registration")
    for target in (GALAXY, BPA):
        _decide(url, "auth0|amy", target, "request", "auth0|amy")  # auto-approved
    _decide(url, "auth0|amy", GROUP, "request", "auth0|amy", "for TSI")
    _decide(url, "auth0|amy", GROUP, "approve", "auth0|admin")
    _decide(url, "auth0|ben", GALAXY, "approve", "auth0|admin")
    _decide(url, "auth0|ben", GROUP, "request", "auth0|ben", "for TSI work")
    _decide(url, "auth0|cat", GALAXY, "approve", "auth0|admin")
    _decide(url, "auth0|cat", GALAXY, "revoke", "auth0|admin", "left the lab")
    _decide(url, "auth0|dan", SBP, "request", "auth0|dan", "structures")
    _decide(url, "auth0|dan", GROUP, "request", "auth0|dan", "please")
    _decide(url, "auth0|dan", GROUP, "reject", "auth0|admin", "not a member")
    _decide(url, "auth0|eve", GALAXY, "approve", "auth0|admin")
    with db.session_scope(url) as session:
        session.exec(update(User).where(User.id == "auth0|eve").values(deleted_at=DAY0))
    return api


def _headers(api, sub: str, roles: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = api.token(sub, roles)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def portal_get(api, path: str, *, sub: str = BOSS, roles=BIOCOMMONS, **params: Any):  # type: ignore[no-untyped-def]
    response = api.client.get(path, params=params, headers=_headers(api, sub, roles))
    assert response.status_code == 200, response.text
    return response.json()


def portal_post(api, path: str, body: dict, *, sub: str = BOSS, roles=BIOCOMMONS):  # type: ignore[no-untyped-def]
    return api.client.post(path, json=body, headers=_headers(api, sub, roles))


def _page(api, **params: Any) -> list[dict]:  # type: ignore[no-untyped-def]
    return portal_get(api, "/admin/users", page=1, per_page=50, **params)


def _names(rows: list[dict]) -> list[str]:
    return [row["id"].removeprefix("auth0|") for row in rows]


def _is_iso_utc(value: str) -> bool:
    return value.endswith(ISO_UTC) and datetime.fromisoformat(value).tzinfo is not None


# --- C13 ------------------------------------------------------------------------------


def test_c13_filters_are_a_flat_list_every_id_accepted_by_filter_by(world):
    options = portal_get(world, "/admin/filters", roles=[TSI_ADMIN])
    assert options == [
        {"id": "galaxy", "name": "Galaxy Australia"},
        {"id": "bpa_data_portal", "name": "Bioplatforms Australia Data Portal"},
        {"id": "sbp", "name": "Structural Biology Platform"},
        {"id": "tsi", "name": "Threatened Species Initiative"},
        {"id": "sbp_workflow_execution", "name": "Structural Biology Platform Bundle"},
    ]
    expected = {
        "galaxy": ["cat", "ben", "amy"],
        "bpa_data_portal": ["amy"],
        "sbp": ["dan"],
        "tsi": ["dan", "ben", "amy"],
        "sbp_workflow_execution": [],
    }
    for option in options:
        assert _names(_page(world, filter_by=option["id"])) == expected[option["id"]]


# --- C14 ------------------------------------------------------------------------------


def test_c14_all_users_bare_array_with_every_field(world):
    rows = _page(world)
    assert isinstance(rows, list)
    assert _names(rows) == ["dan", "cat", "ben", "amy"]  # newest first; boss and eve left out
    ben = rows[2]
    assert {k: ben[k] for k in ("id", "email", "email_verified", "username")} == {
        "id": "auth0|ben",
        "email": "ben@example.org",
        "email_verified": False,
        "username": "ben",
    }
    assert _is_iso_utc(ben["created_at"]) and ben["created_at"].startswith("2026-01-03")
    [galaxy] = ben["platform_memberships"]
    assert set(galaxy) >= PLATFORM_FIELDS
    assert isinstance(galaxy["id"], str) and galaxy["id"]
    assert {k: galaxy[k] for k in PLATFORM_FIELDS - {"id", "updated_at"}} == {
        "platform_id": "galaxy",
        "platform_name": "Galaxy Australia",
        "user_id": "auth0|ben",
        "approval_status": "approved",
        "updated_by": "admin@example.org",
        "revocation_reason": None,
        "rejection_reason": None,
        "request_reason": None,
    }
    assert _is_iso_utc(galaxy["updated_at"])
    [tsi] = ben["group_memberships"]
    assert set(tsi) >= GROUP_FIELDS
    assert {k: tsi[k] for k in GROUP_FIELDS - {"id", "updated_at", "requested_at"}} == {
        "group_id": TSI,
        "group_name": "Threatened Species Initiative",
        "group_short_name": "TSI",
        "user_id": "auth0|ben",
        "approval_status": "pending",
        "updated_by": "(automatic)",
        "revocation_reason": None,
        "rejection_reason": None,
        "request_reason": "for TSI work",
    }
    assert _is_iso_utc(tsi["requested_at"])
    cat, dan = rows[1], rows[0]
    assert cat["platform_memberships"][0]["revocation_reason"] == "left the lab"
    assert dan["group_memberships"][0]["rejection_reason"] == "not a member"
    amy_ids = [m["id"] for m in rows[3]["platform_memberships"]]
    assert len(set(amy_ids)) == 2


def test_c14_pending_page_lists_only_users_with_a_pending_membership_in_scope(world):
    assert _names(_page(world, approval_status="pending")) == ["dan", "ben"]
    tsi_admin = portal_get(
        world, "/admin/users", roles=[TSI_ADMIN], page=1, per_page=50, approval_status="pending"
    )
    assert _names(tsi_admin) == ["ben"]  # dan's pending request is on sbp
    # each user carries all their memberships, not only the admin's
    assert [m["platform_id"] for m in tsi_admin[0]["platform_memberships"]] == ["galaxy"]


def test_c14_revoked_and_unverified_pages(world):
    assert _names(_page(world, approval_status="revoked")) == ["cat"]
    galaxy_admin = portal_get(
        world, "/admin/users", sub="auth0|amy", roles=[GALAXY_ADMIN], page=1, per_page=50,
        platform="galaxy", platform_approval_status="revoked",
    )  # fmt: skip
    assert _names(galaxy_admin) == ["cat"]
    assert _names(_page(world, email_verified="false")) == ["cat", "ben"]
    assert _names(_page(world, email_verified="true")) == ["dan", "amy"]


def test_c14_filters_and_search_combine(world):
    assert _names(_page(world, approval_status="pending", filter_by="galaxy")) == ["ben"]
    assert _names(_page(world, search="  AMY ")) == ["amy"]
    assert _names(_page(world, search="@example.org")) == ["dan", "cat", "ben", "amy"]
    assert _names(_page(world, search="boss")) == []  # the caller is never listed
    tsi_admin = portal_get(world, "/admin/users", roles=[TSI_ADMIN], page=1, per_page=50)
    assert _names(tsi_admin) == ["dan", "ben", "amy"]


def test_c14_c15_infinite_scroll_is_stable_and_complete(world):
    """120 more users, many created at the same instant: the pages the portal appends
    hold each user once, in the order (created_at desc, id desc)."""
    with db.session_scope(world.db_url) as session:
        for n in range(120):
            created = DAY0 + timedelta(days=10 + n // 40)  # three instants, 40 users each
            session.add(User(id=f"auth0|x{n:03d}", email=f"x{n:03d}@example.org",
                             username=f"x{n:03d}", created_at=created))  # fmt: skip
            session.flush()
            transition(
                session, user_id=f"auth0|x{n:03d}", target=GALAXY, action="approve",
                actor="auth0|admin", push_to_auth0=False,
            )  # fmt: skip
    totals = portal_get(world, "/admin/users/pages", page=1, per_page=50)
    assert totals == {"total": 124, "pages": 3, "per_page": 50}
    seen: list[str] = []
    for page in range(1, totals["pages"] + 1):
        rows = portal_get(world, "/admin/users", page=page, per_page=50)
        assert len(rows) == (50 if page < 3 else 24)
        seen += _names(rows)
    newest = [f"x{n:03d}" for batch in (range(80, 120), range(40, 80), range(0, 40))
              for n in sorted(batch, reverse=True)]  # fmt: skip
    assert seen == [*newest, "dan", "cat", "ben", "amy"]
    assert portal_get(world, "/admin/users", page=4, per_page=50) == []


# --- C15 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"approval_status": "pending"},
        {"approval_status": "revoked"},
        {"email_verified": "false"},
        {"filter_by": "tsi"},
        {"filter_by": "galaxy", "search": "a"},
        {"approval_status": "pending", "filter_by": "galaxy"},
    ],
)
def test_c15_pages_agree_with_the_list(world, params):
    rows = _page(world, **params)
    totals = portal_get(world, "/admin/users/pages", page=1, per_page=50, **params)
    assert totals == {"total": len(rows), "pages": 1 if rows else 0, "per_page": 50}


# --- C16 ------------------------------------------------------------------------------


def _totals(api, roles, **params) -> int:  # type: ignore[no-untyped-def]
    return portal_get(api, "/admin/users/pages", roles=roles, page=1, per_page=50, **params)[
        "total"
    ]


def test_c16_counts_equal_each_pages_total(world):
    counts = portal_get(world, "/admin/users/counts")
    assert counts == {"all": 4, "pending": 2, "revoked": 1, "unverified": 2}
    assert counts == {
        "all": _totals(world, BIOCOMMONS),
        "pending": _totals(world, BIOCOMMONS, approval_status="pending"),
        "revoked": _totals(world, BIOCOMMONS, approval_status="revoked"),
        "unverified": _totals(world, BIOCOMMONS, email_verified="false"),
    }
    tsi = portal_get(world, "/admin/users/counts", roles=[TSI_ADMIN])
    assert tsi == {"all": 3, "pending": 1, "revoked": 0, "unverified": 1}


def test_c16_a_single_platform_admins_revoked_badge_is_their_revoked_page(world):
    roles = [GALAXY_ADMIN]
    counts = portal_get(world, "/admin/users/counts", sub="auth0|amy", roles=roles)
    assert counts == {"all": 3, "pending": 0, "revoked": 1, "unverified": 2}  # amy left out
    revoked_page = _totals(world, roles, platform="galaxy", platform_approval_status="revoked")
    assert counts["revoked"] == revoked_page


# --- C17 ------------------------------------------------------------------------------


def test_c17_details_are_auth0s_user_with_all_memberships(world):
    world.fake.add_user(
        user_id="auth0|ben", email="ben@example.org", username="ben", name="Ben Jones",
        given_name="Ben", family_name="Jones", nickname="benj", email_verified=False,
        picture="https://example.org/ben.png", last_ip="203.0.113.9", logins_count=3,
        last_login="2026-02-03T04:05:06.789Z", app_metadata={"registration_from": "biocommons"},
        user_metadata={"lab": "x"},
    )  # fmt: skip
    with db.session_scope(world.db_url) as session:  # a platform the portal does not know
        session.add(Platform(id="extra", name="Extra", access_role_name="biocommons/platform/x"))
    _decide(world.db_url, "auth0|ben", Target("platform", "extra"), "request", "auth0|ben")
    for user_id in ("auth0|ben", "auth0%7Cben"):
        body = portal_get(world, f"/admin/users/{user_id}/details")
        assert {k: body[k] for k in (
            "user_id", "name", "picture", "username", "email", "email_verified", "given_name",
            "family_name", "nickname", "last_ip", "logins_count", "blocked", "app_metadata",
            "user_metadata",
        )} == {
            "user_id": "auth0|ben", "name": "Ben Jones",
            "picture": "https://example.org/ben.png", "username": "ben",
            "email": "ben@example.org", "email_verified": False, "given_name": "Ben",
            "family_name": "Jones", "nickname": "benj", "last_ip": "203.0.113.9",
            "logins_count": 3, "blocked": False,
            "app_metadata": {"registration_from": "biocommons"}, "user_metadata": {"lab": "x"},
        }  # fmt: skip
        assert body["last_login"].startswith("2026-02-03T04:05:06.789")
        assert all(_is_iso_utc(body[k]) for k in ("created_at", "updated_at", "last_login"))
        assert body["identities"][0]["connection"] == "Username-Password-Authentication"
        assert [m["platform_id"] for m in body["platform_memberships"]] == ["galaxy"]
        assert set(body["platform_memberships"][0]) >= PLATFORM_FIELDS
        assert [(m["group_id"], m["approval_status"]) for m in body["group_memberships"]] == [
            (TSI, "pending")
        ]
        assert set(body["group_memberships"][0]) >= GROUP_FIELDS


def test_c17_never_logged_in_missing_and_not_managed(world):
    world.fake.add_user(user_id="auth0|dan", email="dan@example.org", username="dan")
    body = portal_get(world, "/admin/users/auth0|dan/details", roles=[TSI_ADMIN])
    assert body["last_login"] is None
    headers = _headers(world, BOSS, [GALAXY_ADMIN])
    outside = world.client.get("/admin/users/auth0|dan/details", headers=headers)
    assert outside.status_code == 403
    for missing in ("auth0|nobody", "auth0|eve"):  # never existed; soft-deleted
        response = world.client.get(f"/admin/users/{missing}/details", headers=headers)
        assert response.status_code == 404


# --- C18 ------------------------------------------------------------------------------


def test_c18_resend_the_verification_email(world):
    world.fake.add_user(user_id="auth0|cat", email="cat@example.org", username="cat")
    response = portal_post(world, "/admin/users/auth0|cat/verification-email/resend", {})
    assert response.status_code == 200, response.text
    assert world.fake.verification_emails == ["auth0|cat"]


# --- C24-C29 --------------------------------------------------------------------------


def _membership(api, user_id: str, kind: str, target_id: str) -> dict:  # type: ignore[no-untyped-def]
    rows = _page(api, search=user_id.removeprefix("auth0|"))
    key = "platform_id" if kind == "platform" else "group_id"
    [row] = [m for m in rows[0][f"{kind}_memberships"] if m[key] == target_id]
    return row


def test_c24_approve_a_revoked_platform_membership_grants_the_role_again(world):
    fake = world.fake
    fake.add_user(user_id="auth0|cat", email="cat@example.org", username="cat")
    fake.add_role("biocommons/platform/galaxy")
    assert fake.user_roles("auth0|cat") == []
    response = portal_post(world, "/admin/users/auth0|cat/platforms/galaxy/approve", {})
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|cat") == ["biocommons/platform/galaxy"]  # pushed after commit
    galaxy = _membership(world, "auth0|cat", "platform", "galaxy")
    assert (galaxy["approval_status"], galaxy["revocation_reason"]) == ("approved", None)
    assert galaxy["updated_by"] == "boss@example.org"


def test_c24_approve_a_pending_platform_membership_with_the_encoded_user_id(world):
    fake = world.fake
    fake.add_user(user_id="auth0|dan", email="dan@example.org", username="dan")
    fake.add_role("biocommons/platform/sbp")
    response = portal_post(world, "/admin/users/auth0%7Cdan/platforms/sbp/approve", {})
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|dan") == ["biocommons/platform/sbp"]


def test_c25_revoke_a_platform_membership_with_the_portals_reason(world):
    fake = world.fake
    fake.add_user(user_id="auth0|ben", email="ben@example.org", username="ben")
    fake.add_role("biocommons/platform/galaxy")
    fake.assign_role("auth0|ben", fake.role_id("biocommons/platform/galaxy"))
    path = "/admin/users/auth0|ben/platforms/galaxy/revoke"
    response = portal_post(world, path, {"reason": "Account misuse"})
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|ben") == []
    galaxy = _membership(world, "auth0|ben", "platform", "galaxy")
    assert (galaxy["approval_status"], galaxy["revocation_reason"]) == ("revoked", "Account misuse")
    assert portal_get(world, "/admin/users/counts")["revoked"] == 2


def test_c26_approve_a_revoked_group_membership_grants_the_group_role_again(world):
    fake = world.fake
    fake.add_user(user_id="auth0|amy", email="amy@example.org", username="amy")
    fake.add_role(TSI)
    _decide(world.db_url, "auth0|amy", GROUP, "revoke", "auth0|admin", "expired")
    response = portal_post(world, f"/admin/users/auth0|amy/groups/{TSI}/approve", {})
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|amy") == [TSI]
    tsi = _membership(world, "auth0|amy", "group", TSI)
    assert (tsi["approval_status"], tsi["revocation_reason"], tsi["rejection_reason"]) == (
        "approved",
        None,
        None,
    )


def test_c26_approve_a_pending_group_request(world):
    fake = world.fake
    fake.add_user(user_id="auth0|ben", email="ben@example.org", username="ben")
    fake.add_role(TSI)
    path = f"/admin/users/auth0|ben/groups/{TSI}/approve"
    response = portal_post(world, path, {}, roles=[TSI_ADMIN])
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|ben") == [TSI]
    assert _names(_page(world, approval_status="pending")) == ["dan"]


def test_c27_revoke_a_group_membership(world):
    fake = world.fake
    fake.add_user(user_id="auth0|amy", email="amy@example.org", username="amy")
    fake.add_role(TSI)
    fake.assign_role("auth0|amy", fake.role_id(TSI))
    path = f"/admin/users/auth0|amy/groups/{TSI}/revoke"
    response = portal_post(world, path, {"reason": "Left the consortium"})
    assert response.status_code == 200, response.text
    assert fake.user_roles("auth0|amy") == []
    tsi = _membership(world, "auth0|amy", "group", TSI)
    assert (tsi["approval_status"], tsi["revocation_reason"]) == ("revoked", "Left the consortium")


def test_c28_reject_a_group_request_needs_a_reason(world):
    path = f"/admin/users/auth0|ben/groups/{TSI}/reject"
    for body in ({}, {"reason": "   "}, {"reason": "x" * 256}):
        assert portal_post(world, path, body).status_code == 400, body
    response = portal_post(world, path, {"reason": "Not a TSI member"})
    assert response.status_code == 200, response.text
    tsi = _membership(world, "auth0|ben", "group", TSI)
    assert (tsi["approval_status"], tsi["rejection_reason"]) == ("rejected", "Not a TSI member")
    role_changes = [r for r in world.fake.requests_to("/api/v2/users") if r.method != "GET"]
    assert role_changes == []  # no Auth0 change


def test_c29_unreject_a_group_request(world):
    path = f"/admin/users/auth0|dan/groups/{TSI}/unreject"
    response = portal_post(world, path, {})
    assert response.status_code == 200, response.text
    tsi = _membership(world, "auth0|dan", "group", TSI)
    assert (tsi["approval_status"], tsi["rejection_reason"]) == ("pending", None)
    assert _names(_page(world, approval_status="pending")) == ["dan", "ben"]
