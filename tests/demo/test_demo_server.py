"""`aai serve --demo` as a real process: the personas' tokens, the `aai demo` helpers, a
decision reaching the local Auth0 and surviving a sync, and a portal-style login through
its OpenID Connect endpoints with a plain HTTP client."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.demo.browser import browser_page, chromium, serve_app

AAI = [sys.executable, "-c", "from aai_cli.main import run; run()"]
DEMO_VARIABLES = ("DB_", "AUTH0_", "CORS_", "ENVIRONMENT", "ADMIN_ROLES", "EMAIL_")


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(DEMO_VARIABLES)}


def run_aai(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*AAI, *args],
        cwd=cwd,
        env={**clean_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port_pair() -> int:
    """A port whose successor is free too (the local Auth0 takes port + 1)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two consecutive free ports")


@dataclass
class Demo:
    cwd: Path
    api: str
    tokens: dict[str, str]
    process: subprocess.Popen
    app_port: int  # an origin the API allows (CORS), for the browser test

    def aai(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return run_aai(self.cwd, *args, env=env)

    def token(self, persona: str) -> str:
        result = self.aai("demo", "token", "--as", persona)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", headers={"Authorization": f"Bearer {token}"})


def banner_tokens(process: subprocess.Popen, deadline: float) -> dict[str, str]:
    """The persona tokens of the banner: `  <persona>: <who>` then the token, indented."""
    assert process.stdout is not None
    tokens: dict[str, str] = {}
    persona = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if match := re.match(r"^  (\S+): ", line):
            persona = match.group(1)
        elif persona and (match := re.match(r"^    (ey\S+)$", line)):
            tokens[persona] = match.group(1)
            if persona == "super-admin":
                return tokens
    raise AssertionError(f"the demo printed no tokens (exit {process.poll()})")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    cwd = tmp_path_factory.mktemp("demo")
    port = free_port_pair()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        app_port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*AAI, "serve", "--demo", "--port", str(port)],
        cwd=cwd,
        env={**clean_environment(), "CORS_ALLOWED_ORIGINS": f"http://localhost:{app_port}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        tokens = banner_tokens(process, deadline)
        api = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:  # an external process: poll with a deadline
            try:
                if httpx.get(f"{api}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Demo(cwd, api, tokens, process, app_port)
    finally:
        process.terminate()
        process.wait(30)
    assert not (cwd / ".aai-demo.json").exists()  # removed when the demo stops


@pytest.mark.timeout(180)
def test_the_banner_tokens_read_the_profile_and_the_admin_directory(demo: Demo) -> None:
    assert "blocked" not in demo.tokens  # Auth0 gives a blocked user no token
    profile = demo.get("/me/profile", demo.tokens["user"])
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert (body["user_id"], body["username"], body["email"]) == (
        "auth0|demo-ada",
        "ada",
        "ada@example.org",
    )
    statuses = {m["platform_id"]: m["approval_status"] for m in body["platform_memberships"]}
    assert statuses == {"galaxy": "approved", "bpa_data_portal": "approved", "sbp": "pending"}
    directory = demo.get("/admin/users?per_page=50", demo.tokens["super-admin"])
    assert directory.status_code == 200, directory.text
    ids = {u["id"] for u in directory.json()}
    assert {"auth0|demo-ada", "auth0|demo-edsger", "auth0|demo-barbara"} <= ids
    assert len(ids) == 10 and "auth0|demo-tim" not in ids  # the caller is left out
    # a plain user is no admin
    assert demo.get("/admin/users", demo.tokens["user"]).status_code == 403


@pytest.mark.timeout(60)
def test_the_institution_check_is_answered_on_loopback(demo: Demo) -> None:
    check = f"{demo.api}/utils/register/check-australian-research-institution"
    answers = [
        httpx.get(check, params={"email": email}).json()["is_australian_research_institution"]
        for email in ("ada@uni.edu.au", "ada@example.org")
    ]
    assert answers == [True, False]


@pytest.mark.timeout(180)
def test_demo_info_and_fresh_tokens(demo: Demo) -> None:
    result = demo.aai("demo", "info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["api_url"] == demo.api
    assert info["client_id"] and info["audience"] == "https://aai-demo.local/api"
    assert info["auth0_url"].startswith("http://127.0.0.1:")
    names = [p["name"] for p in info["personas"]]
    assert {"user", "super-admin", "galaxy-admin", "bpa-admin", "sbp-admin", "tsi-admin"} <= set(
        names
    )
    table = demo.aai("demo", "info").stdout
    assert demo.api in table and "super-admin" in table
    exports = demo.aai("demo", "env").stdout.splitlines()
    assert f"export AUTH0_BASE_URL={info['auth0_url']}" in exports
    fresh = demo.token("galaxy-admin")
    assert demo.get("/admin/users", fresh).status_code == 200
    blocked = demo.aai("demo", "token", "--as", "blocked")
    assert blocked.returncode == 2 and "user is blocked" in blocked.stderr
    unknown = demo.aai("demo", "token", "--as", "nobody")
    assert unknown.returncode == 4 and "super-admin" in unknown.stderr


@pytest.mark.timeout(180)
def test_an_approval_reaches_the_local_auth0_and_survives_a_sync(demo: Demo) -> None:
    grace = "auth0|demo-grace"
    approve = httpx.post(
        f"{demo.api}/admin/users/{grace}/platforms/sbp/approve",
        json={},
        headers={"Authorization": f"Bearer {demo.token('sbp-admin')}"},
    )
    assert approve.status_code == 200, approve.text
    assert approve.json()["status"] == "approved"

    variables = json.loads(demo.aai("demo", "env", "--json").stdout)
    auth0 = variables["AUTH0_BASE_URL"]
    grant = httpx.post(
        f"{auth0}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": variables["AUTH0_MANAGEMENT_ID"],
            "client_secret": variables["AUTH0_MANAGEMENT_SECRET"],
            "audience": f"https://{variables['AUTH0_DOMAIN']}/api/v2/",
        },
    )
    management = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    roles = httpx.get(f"{auth0}/api/v2/users/{grace}/roles", headers=management).json()
    assert sorted(r["name"] for r in roles) == [
        "biocommons/platform/galaxy",
        "biocommons/platform/sbp",
    ]

    synced = demo.aai("sync", "--now", "--full", "--json", env=variables)
    assert synced.returncode == 0, synced.stderr
    profile = demo.get("/me/profile", demo.token("applicant")).json()
    statuses = {m["platform_id"]: m["approval_status"] for m in profile["platform_memberships"]}
    assert statuses == {"galaxy": "approved", "sbp": "approved"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.mark.timeout(180)
def test_a_portal_login_through_the_oidc_endpoints(demo: Demo) -> None:
    info = json.loads(demo.aai("demo", "info", "--json").stdout)
    auth0, client_id = info["auth0_url"], info["client_id"]
    portal = "http://localhost:4200"
    browser = httpx.Client(follow_redirects=False)

    discovery = browser.get(f"{auth0}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{auth0}/"
    assert "S256" in discovery["code_challenge_methods_supported"]

    verifier, challenge = pkce()
    query = {
        "client_id": client_id,
        "redirect_uri": f"{portal}/callback",
        "response_type": "code",
        "scope": "openid profile email offline_access",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = browser.get(discovery["authorization_endpoint"], params=query)
    assert page.status_code == 200 and "Max Perutz" in page.text
    # the page posts the original parameters back with the chosen user
    picked = browser.post(
        discovery["authorization_endpoint"], data={**query, "user_id": "auth0|demo-max"}
    )
    assert picked.status_code == 302
    callback = urlsplit(picked.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == f"{portal}/callback"
    answer = parse_qs(callback.query)
    assert answer["state"] == ["st4te"]

    exchange = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": answer["code"][0],
        "redirect_uri": f"{portal}/callback",
    }
    wrong = browser.post(discovery["token_endpoint"], data={**exchange, "code_verifier": "x" * 43})
    assert wrong.status_code == 403 and wrong.json()["error"] == "invalid_grant"
    # a failed exchange spends the code, as Auth0's does: log in again
    picked = browser.post(
        discovery["authorization_endpoint"], data={**query, "user_id": "auth0|demo-max"}
    )
    exchange["code"] = parse_qs(urlsplit(picked.headers["location"]).query)["code"][0]
    tokens = browser.post(
        discovery["token_endpoint"],
        data={**exchange, "code_verifier": verifier},
        headers={"Origin": portal},
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["access-control-allow-origin"] == portal
    body = tokens.json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)

    # the access token is the API's: roles claim, accepted by /me and /admin
    profile = demo.get("/me/profile", body["access_token"])
    assert profile.status_code == 200 and profile.json()["user_id"] == "auth0|demo-max"
    assert demo.get("/admin/users", body["access_token"]).status_code == 200
    userinfo = browser.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()
    assert (userinfo["sub"], userinfo["name"]) == ("auth0|demo-max", "Max Perutz")

    refreshed = browser.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": body["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    assert demo.get("/me/profile", refreshed.json()["access_token"]).status_code == 200

    silent = browser.get(discovery["authorization_endpoint"], params={**query, "prompt": "none"})
    assert "code" in parse_qs(urlsplit(silent.headers["location"]).query)  # the session
    logout = browser.get(f"{auth0}/v2/logout", params={"client_id": client_id, "returnTo": portal})
    assert (logout.status_code, logout.headers["location"]) == (302, portal)
    after = browser.get(discovery["authorization_endpoint"], params={**query, "prompt": "none"})
    assert parse_qs(urlsplit(after.headers["location"]).query)["error"] == ["login_required"]


@pytest.mark.timeout(180)
@pytest.mark.skipif(chromium() is None, reason="no Chromium here (apt-get install chromium)")
def test_a_browser_logs_in_through_the_persona_page_and_calls_the_api(demo: Demo, tmp_path):
    info = json.loads(demo.aai("demo", "info", "--json").stdout)
    binary = chromium()
    assert binary is not None
    with (
        serve_app(
            demo.app_port, auth0=info["auth0_url"], client_id=info["client_id"], api=demo.api
        ) as app,
        browser_page(binary, tmp_path / "profile") as page,
    ):
        page.call("Page.navigate", url=app)
        page.wait_for("document.title === 'Log in (local Auth0)'")
        page.evaluate("document.querySelector('button[value=\"rachel\"]').click()")
        title = page.wait_for("document.title !== 'Log in (local Auth0)' && document.title")
        page.wait_for("document.title === 'done' || document.title.startsWith('failed')")
        assert page.evaluate("document.title") == "done", title
        result = json.loads(page.evaluate("document.body.dataset.result"))
    assert (result["state"], result["status"]) == ("xyz", 200)
    assert result["profile"]["user_id"] == "auth0|demo-rachel"
    groups = {m["group_id"]: m["approval_status"] for m in result["profile"]["group_memberships"]}
    assert groups == {"biocommons/group/tsi": "approved"}


@pytest.mark.timeout(60)
def test_the_helpers_need_a_running_demo(tmp_path) -> None:
    """Without a demo started from the directory the helpers say so: exit 5."""
    result = run_aai(tmp_path, "demo", "token", "--as", "user")
    assert result.returncode == 5
    assert "aai serve --demo" in result.stderr
