"""`aai serve`: migrates the embedded default, refuses a database behind head, serves."""

from __future__ import annotations

import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import httpx
import pytest

from tests.cli import aai
from tests.processes import Served


def test_refuses_a_database_behind_head(empty_db_url):
    result = aai("serve", "--port", "1")
    assert result.exit_code == 3, result.output
    assert "aai db upgrade" in result.stderr
    assert result.stdout == ""


def test_refuses_cors_star(empty_db_url, settings_env):
    settings_env(CORS_ALLOWED_ORIGINS="*")
    result = aai("serve")
    assert result.exit_code == 6
    assert "CORS_ALLOWED_ORIGINS" in result.stderr


def test_reload_with_workers_is_a_usage_error():
    result = aai("serve", "--reload", "--workers", "2")
    assert result.exit_code == 2
    assert "--reload" in result.stderr


def test_unreachable_database_is_exit_5(settings_env):
    settings_env(DB_URL="postgresql://nobody@127.0.0.1:9/none")
    result = aai("serve")
    assert result.exit_code == 5, result.output


@pytest.mark.timeout(120)
def test_fresh_checkout_just_works(tmp_path):
    """On the embedded default: migrate, seed, serve; JSON access logs with LOG_FORMAT=json."""
    with Served(tmp_path, env={"LOG_FORMAT": "json"}) as served:
        base = served.base
        assert httpx.get(f"{base}/readyz").status_code == 200
        no_auth = httpx.get(f"{base}/me/profile", headers={"Authorization": "Bearer a.b.c"})
        assert no_auth.status_code == 503  # AUTH0_AUDIENCE is not set
    assert (tmp_path / "database.db").exists()
    records = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "aai.access"]
    assert {r["path"] for r in access} >= {"/healthz", "/readyz", "/me/profile"}
    assert all(r["status"] in (200, 503) for r in access)


def test_proxy_headers_refuse_to_trust_every_hop(settings_env):
    settings_env(
        DB_URL="postgresql://nobody@127.0.0.1:9/none",  # never reached
        FORWARDED_ALLOW_IPS="*",
    )
    result = aai("serve", "--proxy-headers")
    assert result.exit_code == 6
    assert "FORWARDED_ALLOW_IPS" in result.stderr and "'*' is refused" in result.stderr


@pytest.mark.timeout(120)
def test_spoofed_forwarded_chains_do_not_escape_the_rate_limit(tmp_path):
    """Behind a proxy at 127.0.0.1 that appends the address it sees (203.0.113.7), a client
    that writes its own X-Forwarded-For entries still meets the registration limit."""
    spoofed = [
        "198.51.100.{i}",
        "127.0.0.1",
        "10.0.0.{i}, 198.51.100.{i}",
        "unknown",
        "198.51.100.{i}, 127.0.0.1",
    ]
    with Served(
        tmp_path, "--proxy-headers", env={"FORWARDED_ALLOW_IPS": "127.0.0.1, ::1"}
    ) as served:
        statuses = []
        for i in range(11):
            chain = spoofed[i % len(spoofed)].format(i=i) + ", 203.0.113.7"
            response = httpx.post(
                f"{served.base}/biocommons/register",
                json={},
                headers={"X-Forwarded-For": chain},
            )
            statuses.append(response.status_code)
        assert statuses == [400] * 10 + [429]  # a burst of 10, then limited
        other_client = httpx.post(
            f"{served.base}/biocommons/register",
            json={},
            headers={"X-Forwarded-For": "203.0.113.7, 203.0.113.8"},
        )
        assert other_client.status_code == 400  # the right end is the client: served


def _unfinished_chunked_upload(port: int, path: str, *, chunks: int) -> bytes:
    """POST `chunks` chunks of 64 KiB as a chunked body (no Content-Length) that never
    ends, and return what the server answers. All that is sent is needed to pass the
    limit, so the server closes with nothing unread (no reset that would lose its answer)."""
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + chunk * chunks)
        answer = b""  # without the limit no answer comes: the body is unfinished
        while not _complete(answer) and (data := sock.recv(65536)):
            answer += data
    return answer


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    return bool(separator and length and len(body) >= int(length.group(1)))


@pytest.mark.timeout(120)
def test_a_streamed_oversized_body_is_413_before_it_ends(tmp_path):
    with Served(tmp_path, env={"MAX_BODY_BYTES": "262144"}) as served:
        # 320 KiB sent of a body that has not ended: the limit is passed, so it is refused
        answer = _unfinished_chunked_upload(served.port, "/biocommons/register", chunks=5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["detail"] == "the request body is too large (at most 262144 bytes)"


class SilentJwks:
    """A JWKS endpoint that accepts and reads requests but answers none until `release()`,
    when it closes them. `asked` is set once a request has arrived."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/.well-known/jwks.json"
        self.asked = threading.Event()
        self.released = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            request = b""
            while b"\r\n\r\n" not in request and (data := connection.recv(4096)):
                request += data
            self.connections.append(connection)
            self.asked.set()

    def still_waiting(self) -> bool:
        """Whether every request is still open on the client's side (not given up)."""
        for connection in self.connections:
            try:
                if connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    return False
            except BlockingIOError:
                continue
        return bool(self.connections)

    def release(self) -> None:
        self.released.set()
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.timeout(240)
def test_a_dead_jwks_endpoint_does_not_starve_the_server(tmp_path):
    from aai_cli.localauth0.keys import pooled_key
    from tests.api.tokens_util import claims

    audience, issuer = "https://api.example.org", "https://tenant.example.org/"
    jwks = SilentJwks()
    settings = {
        "AUTH0_AUDIENCE": audience,
        "AUTH0_ISSUER": issuer,
        "AUTH0_JWKS_URL": jwks.url,
        "AUTH0_JWKS_TIMEOUT_S": "300",  # the fetch stays in flight until the test ends it
    }
    tokens = [
        pooled_key(0).sign(
            claims(sub="auth0|alice", audience=audience, issuer=issuer),
            headers={"kid": f"unknown-{i}"},
        )
        for i in range(60)
    ]
    try:
        with Served(tmp_path, env=settings) as served, ThreadPoolExecutor(60) as pool:
            calls = [
                pool.submit(
                    httpx.get,
                    f"{served.base}/me/platforms",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=300,
                )
                for token in tokens
            ]
            assert jwks.asked.wait(120)
            # one request fetches the keys and the others wait for that fetch (no keys
            # have ever arrived, so there is nothing else to answer them with)
            assert httpx.get(f"{served.base}/healthz", timeout=120).status_code == 200
            assert jwks.still_waiting()  # /healthz answered while the fetch was outstanding
            assert not any(call.done() for call in calls)
            jwks.release()
            answered = [call.result() for call in as_completed(calls, timeout=120)]
            assert [r.status_code for r in answered] == [503] * 60  # closed, unanswered
            assert len(jwks.connections) == 1  # and only one fetch was made
    finally:
        jwks.release()
