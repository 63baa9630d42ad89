"""Pytest fixtures for the local Auth0 server (registered from tests/conftest.py).

- `fake_auth0`: a running `LocalAuth0` (aai_cli/localauth0/server.py), one server per test
  process, reset (empty tenant, default knobs) before each test.
- `fresh_gateway`: no Auth0 gateway survives from another test (closed before and after);
  `quick_gateway`: the process's gateway on the local Auth0, retrying quickly (the CLI
  commands of the test use the same one).
- `auth0_env`: `fake_auth0` plus the environment pointing our settings at it
  (AUTH0_DOMAIN, AUTH0_BASE_URL, AUTH0_MANAGEMENT_ID/SECRET, AUTH0_AUDIENCE, AUTH0_ISSUER,
  AUTH0_MAX_RPS high enough not to slow tests), settings cache cleared. Yields the fake.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aai_cli.localauth0.server import LocalAuth0


@pytest.fixture(scope="session")
def _fake_auth0_server() -> Iterator[LocalAuth0]:
    with LocalAuth0() as fake:
        yield fake


@pytest.fixture
def fake_auth0(_fake_auth0_server: LocalAuth0) -> Iterator[LocalAuth0]:
    """The local Auth0, empty and with default knobs."""
    _fake_auth0_server.reset()
    yield _fake_auth0_server
    _fake_auth0_server.reset()


@pytest.fixture
def auth0_env(fake_auth0: LocalAuth0, settings_env) -> LocalAuth0:
    """Settings point at the local Auth0 (AUTH0_* variables set, settings cache cleared)."""

    settings_env(**fake_auth0.env(), AUTH0_MAX_RPS="10000")
    return fake_auth0


@pytest.fixture
def fresh_gateway() -> Iterator[None]:
    from aai_cli.services import auth0

    auth0.close_gateway()
    yield
    auth0.close_gateway()


@pytest.fixture
def quick_gateway(auth0_env: LocalAuth0, fresh_gateway: None):  # type: ignore[no-untyped-def]
    from aai_cli.services import auth0
    from aai_cli.services.auth0.transport import RetryPolicy

    gateway = auth0.get_gateway()
    gateway.policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)
    return gateway
