"""A local reCAPTCHA verify service (as Google's `siteverify`): `POST /recaptcha/api/siteverify`
with a form body `secret`, `response` answers `{"success", "challenge_ts", "hostname",
"error-codes"}` as Google documents it.

The secret must be `SECRET` (else `invalid-input-secret`); a missing token is
`missing-input-response`; a token in `refused` (or any token when `single_use` is on and it
was seen before) is `invalid-input-response` / `timeout-or-duplicate`; every other token
passes, solved on `hostname`.

Knobs: `refused`, `hostname`, `single_use`, `answer_next(status, body)` (the next answer as
given, e.g. a 500 or a body without `success`); `requests` lists the forms received.

Fixture `recaptcha_env`: the server, reset, with RECAPTCHA_SECRET and RECAPTCHA_VERIFY_URL
pointing at it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from aai_cli.localauth0.serving import JsonHandler, LocalServer

PATH = "/recaptcha/api/siteverify"
SECRET = "local-recaptcha-secret"


class FakeRecaptcha(LocalServer):
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.refused: set[str] = set()
        self.hostname = "portal.test"
        self.single_use = False
        self.requests: list[dict[str, str]] = []
        self._seen: set[str] = set()
        self._planned: list[tuple[int, Any]] = []
        self._lock = threading.Lock()

    def answer_next(self, status: int, body: Any) -> None:
        with self._lock:
            self._planned.append((status, body))

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method != "POST" or path != PATH:
            return 404, {"error": "not found"}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        with self._lock:
            self.requests.append(form)
            if self._planned:
                return self._planned.pop(0)
            return 200, self._verdict(form)

    def _verdict(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("secret") != SECRET:
            return {"success": False, "error-codes": ["invalid-input-secret"]}
        token = form.get("response", "")
        if not token:
            return {"success": False, "error-codes": ["missing-input-response"]}
        if token in self.refused:
            return {"success": False, "error-codes": ["invalid-input-response"]}
        if self.single_use and token in self._seen:
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        self._seen.add(token)
        return {
            "success": True,
            "challenge_ts": "2026-12-06T00:00:00Z",
            "hostname": self.hostname,
            "error-codes": [],
        }

    def start(self) -> FakeRecaptcha:
        handler = JsonHandler.answering(self.answer)
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), handler))

    @property
    def url(self) -> str:
        return f"{self.origin}{PATH}"


@pytest.fixture(scope="session")
def _recaptcha_server() -> Iterator[FakeRecaptcha]:
    with FakeRecaptcha() as fake:
        yield fake


@pytest.fixture
def recaptcha_env(_recaptcha_server: FakeRecaptcha, settings_env) -> FakeRecaptcha:
    _recaptcha_server.reset()
    settings_env(RECAPTCHA_SECRET=SECRET, RECAPTCHA_VERIFY_URL=_recaptcha_server.url)
    return _recaptcha_server
