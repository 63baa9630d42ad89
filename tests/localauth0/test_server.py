"""The local Auth0 behaves as docs/auth0.md describes, seen through the real auth0-python SDK
(and plain httpx where the SDK cannot express a request)."""

from __future__ import annotations

import gzip
import json
import threading
import time

import httpx
import jwt
import pytest
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from aai_cli.localauth0.server import LocalAuth0, populate, spawned

DB = "Username-Password-Authentication"


@pytest.fixture
def client(fake_auth0: LocalAuth0) -> Auth0:
    token = fake_auth0.management_token()
    return Auth0(base_url=f"{fake_auth0.url}/api/v2", token=lambda: token, max_retries=0)


@pytest.fixture
def http(fake_auth0: LocalAuth0):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {fake_auth0.management_token()}"}
    with httpx.Client(base_url=fake_auth0.url, headers=headers) as c:
        yield c


def error_of(call) -> ApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        call()
    return info.value


# --- tokens and keys -------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False])
def test_client_credentials_token_opens_the_management_api(fake_auth0, as_json):
    form = {
        "grant_type": "client_credentials",
        "client_id": fake_auth0.client_id,
        "client_secret": fake_auth0.client_secret,
        "audience": f"https://{fake_auth0.domain}/api/v2/",
    }
    sent = {"json": form} if as_json else {"data": form}
    answer = httpx.post(f"{fake_auth0.url}/oauth/token", **sent)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"{fake_auth0.client_id}@clients"
    assert claims["aud"] == f"https://{fake_auth0.domain}/api/v2/"
    assert claims["gty"] == "client-credentials"
    sdk = Auth0(base_url=f"{fake_auth0.url}/api/v2", token=body["access_token"], max_retries=0)
    assert list(sdk.roles.list()) == []


def test_token_endpoint_errors_use_the_oauth_shape(fake_auth0):
    url = f"{fake_auth0.url}/oauth/token"
    base = {"grant_type": "client_credentials", "client_id": fake_auth0.client_id}
    wrong = httpx.post(url, json={**base, "client_secret": "nope", "audience": "x"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    unknown = httpx.post(
        url, json={**base, "client_secret": fake_auth0.client_secret, "audience": "https://x/"}
    )
    assert unknown.status_code == 403
    assert unknown.json()["error_description"] == "Service not enabled within domain: https://x/"


def test_management_token_lifetime_is_configurable(fake_auth0):
    fake_auth0.token_expires_in = 5
    claims = jwt.decode(fake_auth0.management_token(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 5


def test_missing_expired_and_invalidated_tokens_get_401(fake_auth0):
    url = f"{fake_auth0.url}/api/v2/roles"
    missing = httpx.get(url)
    assert missing.status_code == 401
    assert missing.json()["statusCode"] == 401 and missing.headers["x-ratelimit-limit"]
    expired = fake_auth0.management_token(expires_in=-10)
    answer = httpx.get(url, headers={"Authorization": f"Bearer {expired}"})
    assert answer.json()["message"] == "Expired token received for JSON Web Token validation"
    garbage = httpx.get(url, headers={"Authorization": "Bearer abc.def.ghi"})
    assert garbage.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Invalid token",
        "attributes": {"error": "Invalid token"},
    }
    user_token = fake_auth0.mint_token("auth0|x")  # the portal API's audience, not Auth0's
    assert httpx.get(url, headers={"Authorization": f"Bearer {user_token}"}).status_code == 401
    good = {"Authorization": f"Bearer {fake_auth0.management_token()}"}
    assert httpx.get(url, headers=good).status_code == 200
    unused = {"Authorization": f"Bearer {fake_auth0.management_token()}"}
    fake_auth0.invalidate_tokens()
    assert httpx.get(url, headers=good).status_code == 401
    assert httpx.get(url, headers=unused).status_code == 401  # issued before, never used
    fresh = {"Authorization": f"Bearer {fake_auth0.management_token()}"}
    assert httpx.get(url, headers=fresh).status_code == 200


def test_minted_tokens_verify_against_the_jwks_and_survive_rotation(fake_auth0):
    discovery = httpx.get(f"{fake_auth0.url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == fake_auth0.issuer == f"{fake_auth0.url}/"
    jwks = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False)
    token = fake_auth0.mint_token("auth0|alice", roles=["biocommons/platform/galaxy"])
    claims = jwt.decode(
        token,
        jwks.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience=fake_auth0.api_audience,
        issuer=fake_auth0.issuer,
    )
    assert claims["sub"] == "auth0|alice"
    assert claims["https://biocommons.org.au/roles"] == ["biocommons/platform/galaxy"]
    assert claims["exp"] - claims["iat"] == 3600
    old_kid = fake_auth0.active_kid
    new_kid = fake_auth0.rotate_key()
    rotated = fake_auth0.mint_token("auth0|alice")
    assert jwt.get_unverified_header(rotated)["kid"] == new_kid != old_kid
    kids = {k["kid"] for k in httpx.get(discovery["jwks_uri"]).json()["keys"]}
    assert kids == {old_kid, new_kid}
    fresh = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False)
    for each in (token, rotated):
        key = fresh.get_signing_key_from_jwt(each).key
        jwt.decode(each, key, algorithms=["RS256"], audience=fake_auth0.api_audience)


def test_mint_token_options(fake_auth0):
    token = fake_auth0.mint_token(
        "auth0|bob",
        audience=["https://a", "https://b"],
        issuer="https://other/",
        expires_in=-5,
        kid="nope",
        extra_claims={"scope": None, "email": "bob@example.org"},
    )
    assert jwt.get_unverified_header(token)["kid"] == "nope"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == ["https://a", "https://b"] and claims["iss"] == "https://other/"
    assert "scope" not in claims and claims["email"] == "bob@example.org"
    assert claims["exp"] < time.time()
    assert jwt.get_unverified_header(fake_auth0.mint_token("x", alg="none"))["alg"] == "none"


# --- users -------------------------------------------------------------------------------


def test_offset_paging_stops_at_the_1000_cap_with_the_documented_400(fake_auth0, client):
    fake_auth0.generate_users(1200)
    seen = []
    error = error_of(lambda: seen.extend(u.user_id for u in client.users.list(per_page=100)))
    assert len(seen) == len(set(seen)) == 1000
    assert error.status_code == 400
    assert error.body == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "You can only page through the first 1000 records. See "
        "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
        "errorCode": "invalid_paging",
    }
    too_big = error_of(lambda: client.users.list(per_page=101))
    assert "greater than maximum 100" in too_big.body["message"]


def test_list_shapes_totals_and_fields(fake_auth0, http):
    fake_auth0.generate_users(30)
    bare = http.get("/api/v2/users", params={"per_page": 5}).json()
    assert isinstance(bare, list) and len(bare) == 5
    boxed = http.get("/api/v2/users", params={"per_page": 5, "page": 1, "include_totals": "true"})
    assert list(boxed.json()) == ["start", "limit", "length", "users", "total"]
    assert (boxed.json()["start"], boxed.json()["length"], boxed.json()["total"]) == (5, 5, 30)
    only = http.get("/api/v2/users", params={"fields": "user_id,email", "include_fields": "true"})
    assert all(set(u) <= {"user_id", "email"} for u in only.json())
    without = http.get("/api/v2/users", params={"fields": "identities", "include_fields": "false"})
    assert all("identities" not in u and "user_id" in u for u in without.json())
    assert http.get("/api/v2/users", params={"q": "x", "search_engine": "v2"}).status_code == 400


def test_search_by_updated_at_ranges_sorted(fake_auth0, client):
    stamps = [f"2026-01-0{d}T10:00:00.000Z" for d in range(1, 6)]
    users = [
        fake_auth0.add_user(email=f"u{i}@example.org", updated_at=s) for i, s in enumerate(stamps)
    ]

    def ids(q: str, sort: str = "updated_at:1") -> list[str]:
        found = client.users.list(q=q, search_engine="v3", sort=sort, per_page=100)
        return [u.user_id for u in found.items]

    expected = [u["user_id"] for u in users]
    assert ids(f"updated_at:[{stamps[2]} TO *]") == expected[2:]
    assert ids(f"updated_at:{{{stamps[1]} TO {stamps[3]}]") == expected[2:4]
    assert ids(f"updated_at:[{stamps[1]} TO {stamps[3]}}}") == expected[1:3]
    assert ids("updated_at:[2026-01-02 TO 2026-01-03]") == expected[1:3]  # partial dates
    assert ids("updated_at:[2026-01-03T10:00:00Z TO *]", sort="updated_at:-1") == expected[:1:-1]
    changed = fake_auth0.update_user(users[0]["user_id"], name="moved")
    assert changed["updated_at"] > stamps[-1]
    assert ids(f"updated_at:{{{stamps[-1]} TO *]") == [users[0]["user_id"]]


def test_search_by_email_user_id_username_and_combinations(fake_auth0, client):
    ada = fake_auth0.add_user(email="ada@uni.edu.au", username="ada", blocked=True)
    fake_auth0.add_user(email="alan@uni.edu.au", username="alan")
    social = fake_auth0.add_user(email="Grace@Gmail.com", connection="google-oauth2")

    def ids(q: str) -> set[str]:
        return {u.user_id for u in client.users.list(q=q, search_engine="v3").items}

    assert ids('email:"ADA@uni.edu.au"') == {ada["user_id"]}
    assert ids(f'user_id:"{social["user_id"]}"') == {social["user_id"]}
    assert ids("username:ada") == {ada["user_id"]}
    assert ids('email.domain:"uni.edu.au" AND blocked:true') == {ada["user_id"]}
    assert ids("username:a* AND NOT username:ada") == {
        u["user_id"] for u in fake_auth0.users if u.get("username") == "alan"
    }
    assert ids('email:"grace@gmail.com" OR username:ada') == {social["user_id"], ada["user_id"]}
    assert ids("identities.connection:google-oauth2") == {social["user_id"]}
    assert "username" not in social


def test_single_user_get_patch_delete(fake_auth0, client, http):
    user = fake_auth0.add_user(email="x@example.org", username="x", app_metadata={"a": 1, "b": 2})
    got = client.users.get(user["user_id"])
    assert got.email == "x@example.org"
    encoded = user["user_id"].replace("|", "%7C")
    assert http.get(f"/api/v2/users/{encoded}").json()["user_id"] == user["user_id"]
    patched = client.users.update(user["user_id"], blocked=True, app_metadata={"b": None, "c": 3})
    assert patched.blocked is True and patched.app_metadata == {"a": 1, "c": 3}
    assert patched.updated_at > got.updated_at
    client.users.delete(user["user_id"])
    missing = error_of(lambda: client.users.get(user["user_id"]))
    assert missing.status_code == 404
    assert missing.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    assert http.delete(f"/api/v2/users/{encoded}").status_code == 204  # gone already: still 204
    assert error_of(lambda: client.users.update(user["user_id"], name="n")).status_code == 404


def test_create_user_validates_and_refuses_duplicates(fake_auth0, client):
    made = client.users.create(
        connection=DB, email="New@Example.org", password="Passw0rd!", username="newbie"
    )
    assert made.email == "new@example.org" and made.created_at == made.updated_at
    assert made.user_id.startswith("auth0|")
    dup_email = error_of(
        lambda: client.users.create(
            connection=DB, email="new@example.org", password="Passw0rd!", username="other"
        )
    )
    assert (dup_email.status_code, dup_email.body["message"]) == (409, "The user already exists.")
    dup_name = error_of(
        lambda: client.users.create(
            connection=DB, email="b@example.org", password="Passw0rd!", username="newbie"
        )
    )
    assert dup_name.status_code == 409
    weak = error_of(
        lambda: client.users.create(
            connection=DB, email="c@example.org", password="short", username="c"
        )
    )
    assert weak.status_code == 400
    bad = error_of(
        lambda: client.users.create(connection=DB, email="nope", password="Passw0rd!", username="d")
    )
    assert bad.body["errorCode"] == "invalid_body"
    other = client.users.create(
        connection=DB, email="e@example.org", password="Passw0rd!", username="e"
    )
    taken = error_of(lambda: client.users.update(other.user_id, email="new@example.org"))
    assert taken.status_code == 400


def test_users_by_email_is_exact_and_case_sensitive(fake_auth0, client):
    db_user = fake_auth0.add_user(email="pat@example.org", username="pat")
    fake_auth0.add_user(email="pat@example.org", connection="google-oauth2")
    found = client.users.list_users_by_email(email="pat@example.org")
    assert len(found) == 2 and db_user["user_id"] in {u.user_id for u in found}
    assert client.users.list_users_by_email(email="PAT@example.org") == []


def test_generated_users_are_deterministic_and_social_users_have_no_username(fake_auth0):
    first = fake_auth0.generate_users(200, seed=7, social_fraction=0.25)
    fake_auth0.reset()
    again = fake_auth0.generate_users(200, seed=7, social_fraction=0.25)
    assert first == again
    social = [u for u in first if u["user_id"].startswith("google-oauth2|")]
    assert 20 < len(social) < 80 and all("username" not in u for u in social)
    assert all(u["username"] for u in first if u["user_id"].startswith("auth0|"))
    more = fake_auth0.generate_users(10, seed=7)
    assert not {u["user_id"] for u in more} & {u["user_id"] for u in first}


# --- roles ---------------------------------------------------------------------------------


def test_checkpoint_paging_walks_every_role_member(fake_auth0, client):
    users = fake_auth0.generate_users(2600)
    role = fake_auth0.add_role("biocommons/platform/galaxy")
    fake_auth0.generate_role_members(role["id"], [u["user_id"] for u in users[:2500]])
    walked = [m.user_id for m in client.roles.users.list(role["id"], take=100)]
    assert len(walked) == len(set(walked)) == 2500
    assert set(walked) == set(fake_auth0.role_members(role["id"]))
    pages = fake_auth0.requests_to(f"/api/v2/roles/{role['id']}/users")
    assert len(pages) == 25
    first = client.roles.users.list(role["id"], take=3)
    assert set(first.response.model_dump(exclude_none=True)) == {"users", "next"}
    assert set(first.items[0].model_dump(exclude_none=True)) <= {
        "user_id",
        "email",
        "picture",
        "name",
    }


def test_offset_role_members_are_capped_at_1000(fake_auth0, http):
    users = fake_auth0.generate_users(50)
    role = fake_auth0.add_role("r")
    fake_auth0.generate_role_members(role["id"], [u["user_id"] for u in users])
    path = f"/api/v2/roles/{role['id']}/users"
    boxed = http.get(path, params={"per_page": 20, "page": 2, "include_totals": "true"}).json()
    assert (len(boxed["users"]), boxed["start"], boxed["total"]) == (10, 40, 50)
    capped = http.get(path, params={"per_page": 100, "page": 10})
    assert capped.status_code == 400
    assert capped.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Requesting page 10 exceeds the allowed maximum of 1000 records. To fetch "
        "results beyond 1000, use the checkpoint pagination method.",
    }
    last = http.get(path, params={"take": 50}).json()
    assert len(last["users"]) == 50 and "next" not in last


def test_roles_and_user_role_assignment(fake_auth0, client, http):
    galaxy = fake_auth0.add_role("biocommons/platform/galaxy", "Galaxy")
    tsi = fake_auth0.add_role("biocommons/group/tsi")
    user = fake_auth0.add_user(email="r@example.org", username="r")
    assert [r.name for r in client.roles.list(name_filter="GALAXY")] == [galaxy["name"]]
    assert client.roles.get(tsi["id"]).name == tsi["name"]
    missing = error_of(lambda: client.roles.get("rol_0000000000000000"))
    assert missing.body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The role does not exist.",
    }
    client.users.roles.assign(user["user_id"], roles=[galaxy["id"], tsi["id"]])
    assert fake_auth0.user_roles(user["user_id"]) == [tsi["name"], galaxy["name"]]
    client.users.roles.delete(user["user_id"], roles=[tsi["id"]])
    assert [r.name for r in client.users.roles.list(user["user_id"])] == [galaxy["name"]]
    encoded = user["user_id"].replace("|", "%7C")
    statuses = [r.status for r in fake_auth0.requests if r.path == f"/api/v2/users/{encoded}/roles"]
    assert statuses[:3] == [204, 204, 200]
    assert (
        http.post(f"/api/v2/users/{encoded}/roles", json={}).json()["errorCode"] == "invalid_body"
    )
    other = fake_auth0.add_user(email="s@example.org", username="s")
    client.roles.users.assign(tsi["id"], users=[other["user_id"]])
    assert fake_auth0.role_members(tsi["id"]) == [other["user_id"]]


# --- jobs ------------------------------------------------------------------------------------


def test_export_job_round_trip_serves_gzipped_ndjson(fake_auth0, client):
    fake_auth0.generate_users(300, social_fraction=0.2)
    fake_auth0.export_pending_polls = 2
    fields = [
        {"name": "user_id"},
        {"name": "email"},
        {"name": "username"},
        {"name": "identities[0].connection", "export_as": "connection"},
    ]
    job = client.jobs.users_exports.create(format="json", fields=fields)
    assert (job.status, job.type, job.id[:4], len(job.id)) == (
        "pending",
        "users_export",
        "job_",
        20,
    )
    statuses = [client.jobs.get(job.id) for _ in range(3)]
    assert [s.status for s in statuses] == ["processing", "processing", "completed"]
    assert statuses[0].location is None
    location = statuses[-1].location
    answer = httpx.get(location)
    assert answer.status_code == 200
    lines = [json.loads(line) for line in gzip.decompress(answer.content).splitlines()]
    assert len(lines) == 300
    by_id = {u["user_id"]: u for u in fake_auth0.users}
    for line in lines:
        user = by_id[line["user_id"]]
        assert line["email"] == user["email"]
        assert line["connection"] == user["identities"][0]["connection"]
        assert ("username" in line) == ("username" in user)
    refused = httpx.get(location, headers={"Authorization": "Bearer x"})
    assert refused.status_code == 400
    assert httpx.get(location.replace("Signature=", "Signature=0")).status_code == 403


def test_export_links_expire_and_jobs_can_fail(fake_auth0, client):
    fake_auth0.add_user(email="a@example.org")
    fake_auth0.export_pending_polls = 0
    fake_auth0.export_link_ttl_s = -1
    job = client.jobs.users_exports.create(format="json")
    expired = client.jobs.get(job.id).location
    assert httpx.get(expired).status_code == 403
    fake_auth0.export_final_status = "failed"
    failing = client.jobs.users_exports.create(format="json", limit=1)
    assert client.jobs.get(failing.id).status == "failed"
    assert error_of(lambda: client.jobs.get("job_0000000000000000")).status_code == 404
    assert error_of(lambda: client.jobs.users_exports.create(format="csv")).status_code == 400


def test_verification_email_job(fake_auth0, client):
    user = fake_auth0.add_user(email="v@example.org", username="v")
    job = client.jobs.verification_email.create(user_id=user["user_id"])
    assert (job.status, job.type) == ("pending", "verification_email")
    assert fake_auth0.verification_emails == [user["user_id"]]
    assert fake_auth0.requests[-1].status == 201
    social = fake_auth0.add_user(email="s@gmail.com", connection="google-oauth2")
    assert (
        error_of(
            lambda: client.jobs.verification_email.create(user_id=social["user_id"])
        ).status_code
        == 400
    )


# --- limits and failures ---------------------------------------------------------------------


def test_rate_limit_answers_429_with_headers(fake_auth0, http):
    fake_auth0.rate_limit(2, burst=3)
    answers = [http.get("/api/v2/roles") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    limited = answers[3]
    assert limited.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Global limit has been reached",
        "errorCode": "too_many_requests",
    }
    assert limited.headers["x-ratelimit-limit"] == "3"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 2
    assert fake_auth0.rate_limited == 2
    fake_auth0.rate_limit(None)
    assert http.get("/api/v2/roles").headers["x-ratelimit-remaining"] == "1000"


def test_fail_next_and_dropped_connections(fake_auth0, http):
    fake_auth0.fail_next(2, 502)
    fake_auth0.fail_next(1, 0)
    assert [http.get("/api/v2/roles").status_code for _ in range(2)] == [502, 502]
    with pytest.raises(httpx.TransportError):
        http.get("/api/v2/roles")
    assert http.get("/api/v2/roles").status_code == 200
    fake_auth0.fail_next(1, 500, path_prefix="/oauth/token")
    assert httpx.post(f"{fake_auth0.url}/oauth/token", json={}).status_code == 500


def test_fail_fraction_is_seeded(fake_auth0, http):
    def run() -> list[int]:
        fake_auth0.reset()
        fake_auth0.fail_fraction = 0.3
        return [http.get("/api/v2/roles").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert 3 <= first.count(503) <= 25 and first.count(200) >= 15


def test_by_hand_entry_point_serves_a_populated_tenant():
    with spawned("--role-members", "8", users=40) as server:
        token = server.management_token()
        sdk = Auth0(base_url=f"{server.url}/api/v2", token=token, max_retries=0)
        roles = list(sdk.roles.list())
        assert len(roles) == 5
        assert len(list(sdk.roles.users.list(roles[0].id, take=100))) == 8
        assert server.stats() == {"requests": 4, "api_requests": 3, "rate_limited": 0, "users": 40}
        assert server.env()["AUTH0_BASE_URL"] == server.url
    assert server.process.poll() is not None


def test_populate_gives_each_role_its_members(fake_auth0):
    populate(fake_auth0, users=100, role_members=30)
    assert all(len(fake_auth0.role_members(r["id"])) == 30 for r in fake_auth0.store.roles.values())


def test_latency_and_export_delay_knobs(fake_auth0, client, http):
    fake_auth0.latency_s = 0.2
    started = time.perf_counter()
    missing = http.get("/api/v2/users/auth0%7Cnobody")
    assert time.perf_counter() - started >= 0.2
    assert missing.status_code == 404 and "x-ratelimit-reset" in missing.headers
    fake_auth0.latency_s = 0
    fake_auth0.export_pending_polls = 0
    fake_auth0.export_delay_s = 60
    job = client.jobs.users_exports.create(format="json")
    assert [client.jobs.get(job.id).status for _ in range(3)] == ["processing"] * 3
    fake_auth0.export_delay_s = 0
    assert client.jobs.get(job.id).status == "completed"


def test_a_held_answer_waits_for_its_release(fake_auth0, http):
    fake_auth0.add_user(user_id="auth0|held", email="held@example.org", username="held")
    held = fake_auth0.hold("GET", r"/api/v2/users/[^/]+")
    answers: list[httpx.Response] = []
    waiting = threading.Thread(
        target=lambda: answers.append(http.get("/api/v2/users/auth0%7Cheld"))
    )
    waiting.start()
    assert held.wait_arrivals(1)
    with httpx.Client(base_url=fake_auth0.url, headers=http.headers) as other:
        assert other.get("/api/v2/roles").status_code == 200  # other paths are not held
    assert answers == []
    held.release()
    waiting.join(10)
    assert [a.status_code for a in answers] == [200]
    assert answers[0].json()["user_id"] == "auth0|held"
