"""Bodies are bounded and authenticated routes check the token before reading a body.

These tests drive the real app over ASGI with a hand-made `receive`, so that they can
count how much of a body the app asked for."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.api.conftest import add_user

CHUNK = 64 * 1024
DEFAULT_LIMIT = 256 * 1024


class Upload:
    """A request body handed to the app chunk by chunk; `huge` is 64 MiB of spaces."""

    def __init__(self, body: bytes = b"", *, huge: bool = False) -> None:
        self.body = body
        self.huge = huge
        self.reads = 0

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if self.huge:
            return {"type": "http.request", "body": b" " * CHUNK, "more_body": self.reads < 1024}
        start = (self.reads - 1) * CHUNK
        chunk = self.body[start : start + CHUNK]
        return {"type": "http.request", "body": chunk, "more_body": start + CHUNK < len(self.body)}


def call(app, path: str, upload: Upload, headers: dict[str, str]) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, upload.receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def json_headers(length: int | None, token: str | None = None) -> dict[str, str]:
    headers = {"host": "testserver", "content-type": "application/json"}
    if length is None:
        headers["transfer-encoding"] = "chunked"
    else:
        headers["content-length"] = str(length)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


def padded_request(size: int) -> bytes:
    """A JSON body of exactly `size` bytes."""
    skeleton = json.dumps({"group_id": "biocommons/group/tsi", "pad": ""}).encode()
    return json.dumps(
        {"group_id": "biocommons/group/tsi", "pad": "x" * (size - len(skeleton))}
    ).encode()


TOO_LARGE = {
    "message": "the request body is too large (at most 262144 bytes)",
    "detail": "the request body is too large (at most 262144 bytes)",
}


def test_a_declared_length_over_the_limit_is_413_before_reading(api):
    upload = Upload(b"{}")
    status, body = call(
        api.client.app, "/biocommons/register", upload, json_headers(10 * 1024 * 1024)
    )
    assert (status, body) == (413, TOO_LARGE)
    assert upload.reads == 0


@pytest.mark.parametrize("path", ["/biocommons/register", "/me/groups/request"])
def test_a_streamed_body_over_the_limit_is_413_without_reading_it_all(api, path):
    add_user(api.db_url, "auth0|alice")
    upload = Upload(huge=True)  # chunked: no Content-Length
    status, body = call(api.client.app, path, upload, json_headers(None, api.token()))
    assert (status, body) == (413, TOO_LARGE)
    assert upload.reads == 5  # four chunks of 64 KiB make the limit, the fifth passes it


def test_a_body_at_the_limit_is_read_and_parsed(api):
    add_user(api.db_url, "auth0|alice")
    content = b"{" + b" " * (DEFAULT_LIMIT - 1)  # unfinished JSON: any route refuses it
    upload = Upload(content)
    status, body = call(
        api.client.app, "/me/groups/request", upload, json_headers(len(content), api.token())
    )
    assert status == 400  # parsed, not refused for its size
    assert body["field_errors"] == [{"field": "body", "message": "malformed JSON"}]
    assert upload.reads == 4


def test_the_limit_is_configurable(api, settings_env):
    from api.app import create_app

    settings_env(MAX_BODY_BYTES="2048")
    status, body = call(create_app(), "/biocommons/register", Upload(b"{}"), json_headers(3000))
    assert status == 413
    assert body["detail"] == "the request body is too large (at most 2048 bytes)"


@pytest.mark.parametrize("token", [None, "not.a.token", "expired"])
def test_an_unauthenticated_body_to_an_authenticated_route_is_401_unread(api, token):
    if token == "expired":
        token = api.fake.mint_token("auth0|alice", expires_in=-300)
    content = padded_request(200 * 1024)  # under the limit: only the token stops it
    upload = Upload(content)
    status, body = call(
        api.client.app, "/me/groups/request", upload, json_headers(len(content), token)
    )
    assert status == 401
    assert body["detail"] == body["message"] and body["message"]
    assert upload.reads == 0  # neither read nor parsed


def test_public_routes_read_bodies_without_a_token(api):
    upload = Upload(b"{}")
    status, body = call(api.client.app, "/biocommons/register", upload, json_headers(2))
    assert status == 400 and body["message"] == "invalid request"
    assert upload.reads == 1


def test_every_route_taking_a_body_and_a_token_checks_the_token_first(api):
    from api.guards import needs_token

    document = api.client.get("/openapi.json").json()
    with_body = {"public": 0, "authenticated": 0}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            bearer = any("HTTPBearer" in s for s in operation.get("security", []))
            assert needs_token(path) == bearer, (method, path)
            with_body["authenticated" if bearer else "public"] += 1
    assert with_body["public"] >= 2 and with_body["authenticated"] >= 3
