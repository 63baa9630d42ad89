"""The account routes (issue #14): each route a thin call to `services.accounts`, for the
caller it is meant for, and refused for everyone else; against the local Auth0, on both
databases."""

from __future__ import annotations

from typing import Any

import pytest

from aai_cli.localauth0.accounts import password_matches
from tests.api.accounts_world import ADMIN, NEW_PASSWORD
from tests.api.accounts_world import world as world  # the fixture
from tests.api.conftest import GALAXY_ADMIN, SUPER_ROLE, TSI_ADMIN
from tests.services.accounts.accounts_util import (
    PASSWORD,
    codes,
    history,
    outbox,
    sent_code,
    state,
)


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


# --- self-service ------------------------------------------------------------------------


def test_c7_name_update_changes_auth0_and_the_row(world):
    response = world.me("name/update", {"first_name": "Augusta", "last_name": "King"})
    assert response.status_code == 200, response.text
    remote = world.remote(world.ada)
    assert (remote["given_name"], remote["family_name"], remote["name"]) == (
        "Augusta",
        "King",
        "Augusta King",
    )
    assert remote["picture"] == "https://ui-avatars.com/api/?name=ak&background=random"
    assert world.user(world.ada).name == "Augusta King"
    assert history(world.session, world.ada)[-1][0] == "name"
    assert history(world.session, world.ada)[-1][2:4] == ("Augusta King", world.ada)


def test_c7_empty_name_is_a_field_error(world):
    body = _error(world.me("name/update", {"first_name": " ", "last_name": "King"}), 400)
    assert body["field_errors"][0]["field"] == "first_name"
    assert body["detail"] == body["message"]


def test_c8_username_update_and_own_former_username_refused(world):
    response = world.me("username/update", {"username": "countess"})
    assert response.status_code == 200, response.text
    assert world.remote(world.ada)["username"] == "countess"
    assert world.user(world.ada).username == "countess"
    assert history(world.session, world.ada)[-1] == ("username", "ada", "countess", world.ada, None)
    body = _error(world.me("username/update", {"username": "ada"}), 400)
    assert body["field_errors"] == [{"field": "username", "message": "Username is already taken"}]
    assert world.remote(world.ada)["username"] == "countess"


def test_c8_username_of_another_user_is_refused(world):
    before = state(world.session, world.ada)
    body = _error(world.me("username/update", {"username": "bob"}), 400)
    assert body["message"] == "Username is already taken"
    assert body["field_errors"] == [{"field": "username", "message": "Username is already taken"}]
    assert state(world.session, world.ada) == before


def test_c8_auth0_down_is_503_and_nothing_changes(world):
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.services.auth0.transport import RetryPolicy

    get_gateway().policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    before = state(world.session, world.ada)
    world.api.fake.fail_next(10, status=503)
    _error(world.me("username/update", {"username": "countess"}), 503)
    assert state(world.session, world.ada) == before
    assert world.remote(world.ada)["username"] == "ada"


def test_c9_c10_email_change_with_the_code(world):
    response = world.me("email/update", {"email": " Ada@Lovelace.example "})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "OTP sent to the requested email address."}
    assert outbox(world.session)[-1][:2] == ("email_change_code", "ada@lovelace.example")
    code = sent_code(world.session)
    wrong = "000000" if code != "000000" else "111111"
    assert _error(world.me("email/continue", {"otp": wrong}), 400)["detail"] == "Invalid OTP."
    response = world.me("email/continue", {"otp": code})
    assert response.status_code == 200, response.text
    remote = world.remote(world.ada)
    assert (remote["email"], remote["email_verified"]) == ("ada@lovelace.example", True)
    user = world.user(world.ada)
    assert (user.email, user.email_verified) == ("ada@lovelace.example", True)
    assert history(world.session, world.ada)[-1][:4] == (
        "email",
        "ada@example.org",
        "ada@lovelace.example",
        world.ada,
    )
    assert codes(world.session, world.ada) == [("ada@lovelace.example", 2, False)]


def test_c9_email_of_another_user_is_a_field_error(world):
    body = _error(world.me("email/update", {"email": "bob@example.org"}), 400)
    assert body["field_errors"] == [
        {"field": "email", "message": "Email is already in use by another user"}
    ]
    assert codes(world.session, world.ada) == []


def test_c10_without_a_code_is_400(world):
    body = _error(world.me("email/continue", {"otp": "123456"}), 400)
    assert body["detail"] == "No pending email change request exists."


def test_c10_exhausted_code_is_429_and_nothing_changes(world):
    assert world.me("email/update", {"email": "ada@new.example"}).status_code == 200
    code = sent_code(world.session)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(9):
        _error(world.me("email/continue", {"otp": wrong}), 400)
    body = _error(world.me("email/continue", {"otp": wrong}), 429)
    assert body["detail"] == "Too many verification attempts. Try again later."
    _error(world.me("email/continue", {"otp": code}), 400)  # the code is spent
    assert world.user(world.ada).email == "ada@example.org"
    assert world.remote(world.ada)["email"] == "ada@example.org"


def test_c10_auth0_down_is_503_and_the_code_stays_usable(world):
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.services.auth0.transport import RetryPolicy

    get_gateway().policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    assert world.me("email/update", {"email": "ada@new.example"}).status_code == 200
    code = sent_code(world.session)
    world.api.fake.fail_next(10, status=503)
    _error(world.me("email/continue", {"otp": code}), 503)
    assert world.user(world.ada).email == "ada@example.org"
    assert codes(world.session, world.ada) == [("ada@new.example", 1, True)]


def test_c11_password_change_checks_the_current_password_with_auth0(world):
    body = {"current_password": "Wr0ng!pass", "new_password": NEW_PASSWORD}
    error = _error(world.me("password/update", body), 400)
    assert error["field_errors"] == [
        {"field": "currentPassword", "message": "Current password is incorrect"}
    ]
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = world.me("password/update", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Password updated successfully"}
    stored = world.api.fake.accounts.passwords[world.ada]
    assert password_matches(NEW_PASSWORD, stored)
    assert NEW_PASSWORD not in response.text


def test_c12_self_delete_then_the_token_is_refused_everywhere(world):
    response = world.me("delete", {})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Account deleted successfully."}
    assert world.remote(world.ada)["blocked"] is True
    user = world.user(world.ada)
    assert user.deleted_at is not None and user.blocked
    assert history(world.session, world.ada)[-1] == (
        "deleted",
        None,
        None,
        world.ada,
        "User self-deletion",
    )
    for path, body in [
        ("name/update", {"first_name": "A", "last_name": "B"}),
        ("username/update", {"username": "ghost"}),
        ("email/update", {"email": "ghost@example.org"}),
        ("email/continue", {"otp": "123456"}),
        ("password/update", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        ("delete", {}),
    ]:
        _error(world.me(path, body), 403)
    assert world.remote(world.ada)["username"] == "ada"


def test_self_service_refuses_unknown_body_fields(world):
    _error(world.me("username/update", {"username": "x1x", "user_id": world.bob}), 400)
    assert world.remote(world.bob)["username"] == "bob"


# --- admin -------------------------------------------------------------------------------


def test_c19_admin_renames_a_managed_user(world):
    response = world.admin(f"{world.ada}/username/update", {"username": "countess"})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "User's username updated successfully."}
    assert world.remote(world.ada)["username"] == "countess"
    assert world.user(world.ada).username == "countess"
    assert history(world.session, world.ada)[-1] == ("username", "ada", "countess", ADMIN, None)
    assert outbox(world.session)[-1][:2] == ("username_changed", "ada@example.org")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("username/update", {"username": "countess"}),
        ("email/update", {"email": "ada@new.example"}),
        ("password-reset-email", {}),
        ("delete", {"reason": "spam"}),
        ("delete_invalid_email", {"correct_email": "ada@right.example"}),
    ],
)
def test_admin_routes_refuse_out_of_scope_missing_and_self(world, path, body):
    before = state(world.session, world.bob)
    # bob has no TSI membership: the TSI admin does not manage him
    body403 = _error(world.admin(f"{world.bob}/{path}", body, roles=[TSI_ADMIN]), 403)
    assert body403["detail"] == "You do not have permission to manage this user."
    _error(world.admin(f"auth0|nobody/{path}", body), 404)
    _error(world.admin(f"{world.ada}/{path}", body, sub=world.ada), 403)
    _error(world.api.post(f"/admin/users/{world.bob}/{path}", sub=world.ada, json=body), 403)
    assert state(world.session, world.bob) == before


def test_c20_admin_sets_the_email_unverified_and_auth0_sends_verification(world):
    response = world.admin(f"{world.ada}/email/update", {"email": "ada@new.example"})
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Email updated. Verification email sent."
    remote = world.remote(world.ada)
    assert (remote["email"], remote["email_verified"]) == ("ada@new.example", False)
    assert world.user(world.ada).email == "ada@new.example"
    assert world.api.fake.verification_emails[-1] == world.ada
    assert history(world.session, world.ada)[-1][:4] == (
        "email",
        "ada@example.org",
        "ada@new.example",
        ADMIN,
    )
    assert outbox(world.session)[-1][:2] == ("email_changed", "ada@example.org")


def test_c20_email_taken_is_a_field_error(world):
    body = _error(world.admin(f"{world.ada}/email/update", {"email": "BOB@example.org"}), 400)
    assert body["field_errors"] == [
        {"field": "email", "message": "Email is already in use by another user"}
    ]


def test_c21_password_reset_email_carries_an_auth0_ticket(world):
    response = world.admin(f"{world.ada}/password-reset-email", {})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Password reset email sent."}
    assert [t["user_id"] for t in world.api.fake.accounts.tickets] == [world.ada]
    assert outbox(world.session)[-1][:2] == ("password_reset", "ada@example.org")


def test_c22_admin_delete_then_restore_by_a_super_admin(world):
    response = world.admin(f"{world.ada}/delete", {"reason": "asked by email"})
    assert response.status_code == 200, response.text
    assert response.json() == {"message": f"User {world.ada} deleted successfully."}
    assert world.remote(world.ada)["blocked"] is True
    assert world.user(world.ada).deleted_at is not None
    assert history(world.session, world.ada)[-1] == (
        "deleted",
        None,
        None,
        ADMIN,
        "asked by email",
    )
    _error(world.admin(f"{world.ada}/username/update", {"username": "zed"}), 404)
    _error(world.admin(f"{world.ada}/restore", {}), 403)  # not a super-admin
    response = world.admin(f"{world.ada}/restore", {"reason": "by mistake"}, roles=[SUPER_ROLE])
    assert response.status_code == 200, response.text
    assert world.remote(world.ada)["blocked"] is False
    assert world.user(world.ada).deleted_at is None
    assert history(world.session, world.ada)[-1] == ("restored", None, None, ADMIN, "by mistake")
    _error(world.admin(f"{world.ada}/restore", {}, roles=[SUPER_ROLE]), 409)


def test_c22_a_group_only_admin_may_not_delete(world):
    # the TSI admin manages ada (TSI requested) but administers no platform of hers
    _error(world.admin(f"{world.ada}/delete", {"reason": "x"}, roles=[TSI_ADMIN]), 403)
    assert world.user(world.ada).deleted_at is None


def test_c22_auth0_down_is_503_and_nothing_changes(world):
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.services.auth0.transport import RetryPolicy

    get_gateway().policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    before = state(world.session, world.ada)
    world.api.fake.fail_next(10, status=503)
    _error(world.admin(f"{world.ada}/delete", {"reason": "x"}), 503)
    assert state(world.session, world.ada) == before
    assert world.remote(world.ada).get("blocked") in (None, False)


def test_c23_delete_invalid_email_tells_the_correct_address(world):
    body = {"correct_email": " Bob@Right.example "}
    response = world.admin(f"{world.bob}/delete_invalid_email", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "User deleted and notification sent."}
    assert world.user(world.bob).deleted_at is not None
    assert world.remote(world.bob)["blocked"] is True
    assert outbox(world.session)[-1][:2] == ("account_deleted_invalid_email", "bob@right.example")
    assert history(world.session, world.bob)[-1][4] == (
        "invalid email bob@example.org; correct address bob@right.example"
    )


def test_c23_a_verified_address_is_refused(world):
    body = _error(
        world.admin(f"{world.ada}/delete_invalid_email", {"correct_email": "a@b.org"}), 400
    )
    assert body["detail"] == "The user's email address is verified: use delete instead."
    assert world.user(world.ada).deleted_at is None


def test_c17_details_list_the_identity_history(world):
    assert world.admin(f"{world.ada}/username/update", {"username": "countess"}).status_code == 200
    response = world.api.get(f"/admin/users/{world.ada}/details", sub=ADMIN, roles=[GALAXY_ADMIN])
    assert response.status_code == 200, response.text
    [event] = response.json()["identity_history"]
    assert {k: v for k, v in event.items() if k != "created_at"} == {
        "kind": "username",
        "old_value": "ada",
        "new_value": "countess",
        "actor": ADMIN,
        "reason": None,
    }
    assert event["created_at"]


def test_registration_refuses_a_former_username_and_email(world):
    assert world.me("username/update", {"username": "countess"}).status_code == 200
    assert world.admin(f"{world.ada}/email/update", {"email": "ada@new.example"}).status_code == 200
    client = world.api.client
    taken = client.get("/utils/register/username-availability", params={"username": "ada"})
    assert taken.json() == {
        "available": False,
        "field_errors": [{"field": "username", "message": "Username is already taken"}],
    }
    taken = client.get("/utils/register/email-availability", params={"email": "ADA@example.org"})
    assert taken.json()["available"] is False
    free = client.get("/utils/register/username-availability", params={"username": "adelaide"})
    assert free.json() == {"available": True, "field_errors": []}
