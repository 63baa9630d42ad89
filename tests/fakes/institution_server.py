"""A local institution-validation service (as Galaxy Australia's `/institution/validate`):
`GET /institution/validate?email=<address>` answers `{"valid": bool}`, true when the
email's domain (or a parent domain) is in `institutional_domains`.

Knobs: `institutional_domains`, `answer_next(status, body)` (the next answer, e.g. a 500 or
a body without `valid`); `requests` lists the emails asked about.

Fixture `institution_env`: the server, reset, with INSTITUTION_CHECK_URL pointing at it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from aai_cli.localauth0.serving import JsonHandler, LocalServer

PATH = "/institution/validate"


class FakeInstitutions(LocalServer):
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.institutional_domains: set[str] = {"uni.edu.au"}
        self.requests: list[str] = []
        self._planned: list[tuple[int, Any]] = []
        self._lock = threading.Lock()

    def answer_next(self, status: int, body: Any) -> None:
        with self._lock:
            self._planned.append((status, body))

    def answer(self, path: str) -> tuple[int, Any]:
        parsed = urlparse(path)
        if parsed.path != PATH:
            return 404, {"detail": "Not Found"}
        email = parse_qs(parsed.query).get("email", [""])[0]
        with self._lock:
            self.requests.append(email)
            if self._planned:
                return self._planned.pop(0)
        domain = email.rpartition("@")[2].lower()
        parts = domain.split(".")
        parents = {".".join(parts[i:]) for i in range(len(parts))}
        return 200, {"valid": bool(parents & self.institutional_domains)}

    def start(self) -> FakeInstitutions:
        handler = JsonHandler.answering(lambda _method, path, _body: self.answer(path))
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), handler))

    @property
    def url(self) -> str:
        return f"{self.origin}{PATH}"


@pytest.fixture(scope="session")
def _institution_server() -> Iterator[FakeInstitutions]:
    with FakeInstitutions() as fake:
        yield fake


@pytest.fixture
def institution_env(_institution_server: FakeInstitutions, settings_env) -> FakeInstitutions:

    _institution_server.reset()
    settings_env(INSTITUTION_CHECK_URL=_institution_server.url)
    return _institution_server
