"""The portal's account calls (C7-C12, C17, C19-C23), built as the portal sends them: a
bearer token, `Content-Type: application/json` and the body exactly as the portal writes
it; each asserts what the portal reads from the answer (section 1.5 of the contract)."""

from __future__ import annotations

import json
from typing import Any

from tests.api.accounts_world import ADMIN, NEW_PASSWORD, World
from tests.api.accounts_world import world as world  # the fixture
from tests.api.conftest import GALAXY_ADMIN
from tests.services.accounts.accounts_util import PASSWORD, sent_code


def portal_post(world: World, path: str, body: Any, *, sub: str, roles=None):  # type: ignore[no-untyped-def]
    token = world.api.fake.mint_token(sub, roles=roles or [])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return world.api.client.post(path, content=json.dumps(body), headers=headers)


def test_c7_name_errors_carry_a_string_detail(world):
    response = portal_post(
        world, "/me/profile/name/update", {"first_name": "", "last_name": "King"}, sub=world.ada
    )
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)
    ok = portal_post(
        world, "/me/profile/name/update", {"first_name": "Ada", "last_name": "King"}, sub=world.ada
    )
    assert ok.status_code == 200


def test_c8_taken_username_is_shown_under_the_field(world):
    response = portal_post(world, "/me/profile/username/update", {"username": "bob"}, sub=world.ada)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Username is already taken"
    assert body["field_errors"] == [{"field": "username", "message": "Username is already taken"}]


def test_c9_message_then_c10_conflict_409_when_the_address_was_taken_meanwhile(world):
    body = {"email": "ada@new.example"}
    sent = portal_post(world, "/me/profile/email/update", body, sub=world.ada)
    assert sent.status_code == 200
    assert sent.json() == {"message": "OTP sent to the requested email address."}
    code = sent_code(world.session)
    # meanwhile an admin gives that address to Bob
    taken = portal_post(
        world, f"/admin/users/{world.bob}/email/update", {"email": "ada@new.example"},
        sub=ADMIN, roles=[GALAXY_ADMIN],
    )  # fmt: skip
    assert taken.status_code == 200
    response = portal_post(world, "/me/profile/email/continue", {"otp": code}, sub=world.ada)
    assert response.status_code == 409
    assert world.user(world.ada).email == "ada@example.org"


def test_c10_wrong_code_detail_and_429_when_spent(world):
    portal_post(world, "/me/profile/email/update", {"email": "ada@new.example"}, sub=world.ada)
    code = sent_code(world.session)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [
        portal_post(world, "/me/profile/email/continue", {"otp": wrong}, sub=world.ada)
        for _ in range(10)
    ]
    assert [r.status_code for r in statuses] == [400] * 9 + [429]
    assert statuses[0].json()["detail"] == "Invalid OTP."


def test_c11_wrong_current_password_is_shown_under_current_password(world):
    body = {"current_password": "Nope!1234", "new_password": NEW_PASSWORD}
    response = portal_post(world, "/me/profile/password/update", body, sub=world.ada)
    assert response.status_code == 400
    assert response.json()["field_errors"] == [
        {"field": "currentPassword", "message": "Current password is incorrect"}
    ]
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    ok = portal_post(world, "/me/profile/password/update", body, sub=world.ada)
    assert (ok.status_code, ok.json()) == (200, {"message": "Password updated successfully"})


def test_c12_delete_with_an_empty_body(world):
    response = portal_post(world, "/me/profile/delete", {}, sub=world.ada)
    assert response.status_code == 200
    assert world.remote(world.ada)["blocked"] is True


def test_c19_c20_field_errors_and_c20_message(world):
    admin = {"sub": ADMIN, "roles": [GALAXY_ADMIN]}
    rename = portal_post(
        world, f"/admin/users/{world.ada}/username/update", {"username": "bob"}, **admin
    )
    assert rename.status_code == 400
    assert rename.json()["field_errors"][0]["field"] == "username"
    same = portal_post(
        world, f"/admin/users/{world.ada}/email/update", {"email": "ADA@example.org"}, **admin
    )
    assert same.status_code == 400
    assert same.json()["field_errors"] == [
        {"field": "email", "message": "Email address is already set to that value"}
    ]
    ok = portal_post(
        world, f"/admin/users/{world.ada}/email/update", {"email": "ada@new.example"}, **admin
    )
    assert ok.status_code == 200
    assert ok.json()["message"] == "Email updated. Verification email sent."


def test_c21_c22_c23_bodies_as_the_portal_sends_them(world):
    admin = {"sub": ADMIN, "roles": [GALAXY_ADMIN]}
    reset = portal_post(world, f"/admin/users/{world.ada}/password-reset-email", {}, **admin)
    assert reset.status_code == 200
    invalid = portal_post(
        world, f"/admin/users/{world.bob}/delete_invalid_email",
        {"correct_email": "bob@right.example"}, **admin,
    )  # fmt: skip
    assert invalid.status_code == 200
    deleted = portal_post(
        world, f"/admin/users/{world.ada}/delete", {"reason": "Requested by the user"}, **admin
    )
    assert deleted.status_code == 200
    details = world.api.get(f"/admin/users/{world.ada}/details", sub=ADMIN, roles=[GALAXY_ADMIN])
    assert details.status_code == 404  # C17 after C22
