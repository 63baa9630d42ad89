"""The account tests' shared fixtures: a fresh, quick gateway for every test, and Ada."""

from __future__ import annotations

import pytest

from tests.services.accounts.accounts_util import make_user


@pytest.fixture(autouse=True)
def _fresh(fresh_gateway):  # type: ignore[no-untyped-def]
    return fresh_gateway


@pytest.fixture
def gateway(quick_gateway):  # type: ignore[no-untyped-def]
    return quick_gateway


@pytest.fixture
def ada(auth0_env, session) -> str:  # type: ignore[no-untyped-def]
    return make_user(auth0_env, session, "ada")
