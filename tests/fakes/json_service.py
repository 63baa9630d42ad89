"""The shared part of the tests' small local JSON services (institution check, reCAPTCHA
verify): one server per test process, reset before each test, planned answers.

A fake states its `PATH`, its knobs (in `reset()`, after `super().reset()`), its `answer`
and the settings that point at it (`env()`); `fake_fixtures` makes its two fixtures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Self, TypeVar

import pytest

from aai_cli.localauth0.serving import JsonHandler, LocalServer

Request = TypeVar("Request")
Reply = tuple[int, Any]


class FakeJsonService(LocalServer, Generic[Request]):
    """Answers JSON on `PATH`; `requests` lists what each request asked, in order."""

    PATH: ClassVar[str]

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: list[Request] = []
        self._planned: list[Reply] = []
        self._lock = threading.Lock()

    def answer_next(self, status: int, body: Any) -> None:
        """The next request gets this answer as given (e.g. a 500, or a body of the wrong
        shape) instead of the service's own."""
        with self._lock:
            self._planned.append((status, body))

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The settings that point the code under test at this service."""
        raise NotImplementedError

    def _recorded(self, request: Request, verdict: Callable[[], Reply]) -> Reply:
        """Record `request`, then answer as planned, else with the `verdict` (taken under
        the lock, so it may update the fake's state)."""
        with self._lock:
            self.requests.append(request)
            if self._planned:
                return self._planned.pop(0)
            return verdict()

    def start(self) -> Self:
        handler = JsonHandler.answering(self.answer)
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), handler))

    @property
    def url(self) -> str:
        return f"{self.origin}{self.PATH}"


Fake = TypeVar("Fake", bound=FakeJsonService)


def fake_fixtures(fake_type: type[Fake], env_fixture: str) -> tuple[Any, Any]:
    """A session fixture running one `fake_type`, and the fixture `env_fixture`: that fake
    reset, with the settings pointing at it (settings cache cleared)."""
    server_fixture = f"_{env_fixture}_server"

    @pytest.fixture(scope="session", name=server_fixture)
    def server() -> Iterator[Fake]:
        with fake_type() as fake:
            yield fake

    @pytest.fixture(name=env_fixture)
    def env(request: pytest.FixtureRequest, settings_env) -> Fake:
        fake: Fake = request.getfixturevalue(server_fixture)
        fake.reset()
        settings_env(**fake.env())
        return fake

    return server, env
