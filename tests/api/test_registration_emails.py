"""End to end: a registration's request reaches the bundle admins by email, and the
admin's decision through the API reaches the user (local Auth0, real SMTP)."""

from __future__ import annotations

from urllib.parse import quote

TSI_ADMIN = "biocommons/role/tsi/admin"
TSI = "biocommons/group/tsi"


def test_request_to_admins_then_decision_to_the_user(api, smtp_env):
    role_id = api.fake.add_role(TSI_ADMIN)["id"]
    admin = api.fake.add_user(email="tsi-admin@example.org")
    api.fake.assign_role(admin["user_id"], role_id)
    registered = api.client.post(
        "/biocommons/register",
        json={
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane@uni.edu.au",
            "username": "jane",
            "password": "Str0ng!pass",
            "recaptcha_token": "from-the-widget",
            "bundles": [{"bundle_id": "tsi", "reason": "I work on <b>koalas</b>"}],
        },
    )
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["user_id"]
    [request] = smtp_env.to("tsi-admin@example.org")
    assert "I work on <b>koalas</b>" in request.part("plain")
    assert "I work on &lt;b&gt;koalas&lt;/b&gt;" in request.part("html")
    assert f"/admin/users/{quote(user_id, safe='')}" in request.part("plain")

    decided = api.post(
        f"/admin/users/{quote(user_id, safe='')}/groups/{TSI}/reject",
        sub=admin["user_id"],
        roles=[TSI_ADMIN],
        json={"reason": "not a <i>member</i>"},
    )
    assert decided.status_code == 200, decided.text
    rejection = [m for m in smtp_env.to("jane@uni.edu.au") if "declined" in m.message["Subject"]]
    assert len(rejection) == 1
    assert "not a &lt;i&gt;member&lt;/i&gt;" in rejection[0].part("html")
    assert "not a <i>member</i>" in rejection[0].part("plain")
    # exactly one email per event: welcome + request received + admin request + rejection
    assert len(smtp_env.messages) == 4
