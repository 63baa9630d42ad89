"""The account tests' world: Ada (galaxy approved, TSI requested) and Bob (galaxy
requested, unverified), users of the local Auth0 and mirrored here, and a Galaxy admin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session

from aai_cli import db
from aai_cli.models import User
from tests.api.conftest import GALAXY_ADMIN, TSI, Api, decide
from tests.services.accounts.accounts_util import make_user

ADMIN = "auth0|boss"
NEW_PASSWORD = "N3w!passWord"


@dataclass
class World:
    api: Api
    session: Session
    ada: str  # galaxy approved, TSI requested
    bob: str  # galaxy requested

    def me(self, path: str, body: Any = None, *, sub: str | None = None):  # type: ignore[no-untyped-def]
        return self.api.post(f"/me/profile/{path}", sub=sub or self.ada, json=body or {})

    def admin(self, path: str, body: Any = None, *, roles=None, sub: str = ADMIN):  # type: ignore[no-untyped-def]
        return self.api.post(
            f"/admin/users/{path}", sub=sub, roles=roles or [GALAXY_ADMIN], json=body or {}
        )

    def user(self, user_id: str) -> User:
        self.session.rollback()
        user = self.session.get(User, user_id)
        assert user is not None
        return user

    def remote(self, user_id: str) -> dict[str, Any]:
        user = self.api.fake.get_user(user_id)
        assert user is not None
        return user


@pytest.fixture
def world(api: Api) -> Iterator[World]:
    with Session(db.get_engine(api.db_url), expire_on_commit=False) as session:
        ada = make_user(api.fake, session, "ada", given_name="Ada", family_name="Lovelace")
        bob = make_user(api.fake, session, "bob", email_verified=False)
        decide(api.db_url, ada, "platform", "galaxy", "approve")
        decide(api.db_url, ada, "group", TSI, "request")
        decide(api.db_url, bob, "platform", "galaxy", "request")
        yield World(api, session, ada, bob)
