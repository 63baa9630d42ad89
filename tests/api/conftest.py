"""API test fixtures: the app on a real database, real tokens from the local Auth0."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aai_cli import db
from aai_cli.models import User, utcnow

SUPER_ROLE = "biocommons/role/biocommons/admin"
GALAXY_ADMIN = "biocommons/role/galaxy/admin"
SBP_ADMIN = "biocommons/role/sbp/admin"
TSI_ADMIN = "biocommons/role/tsi/admin"
TSI = "biocommons/group/tsi"


@dataclass
class Api:
    """A TestClient that signs each request with a token minted by the local Auth0."""

    client: TestClient
    fake: Any
    db_url: str
    recaptcha: Any = None

    def token(self, sub: str = "auth0|alice", roles: list[str] | None = None, **kw: Any) -> str:
        return self.fake.mint_token(sub, roles=roles or [], **kw)

    def headers(self, sub: str, roles: list[str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, roles)}"}

    def get(self, path: str, *, sub: str = "auth0|alice", roles=None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=self.headers(sub, roles), **kw)

    def post(self, path: str, *, sub: str = "auth0|alice", roles=None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.post(path, headers=self.headers(sub, roles), **kw)


def add_user(db_url: str, user_id: str, **fields: Any) -> None:
    local = user_id.split("|")[-1]
    values = {
        "email": f"{local}@example.org",
        "username": local,
        "name": local.title(),
        "email_verified": True,
        "created_at": utcnow(),
        **fields,
    }
    with db.session_scope(db_url) as session:
        session.add(User(id=user_id, **values))


def decide(db_url: str, user_id: str, kind: str, target: str, *actions: str) -> None:
    """Drive a membership through the state machine directly (test set-up)."""
    from aai_cli.models import Target
    from aai_cli.services.access.memberships import transition

    with db.session_scope(db_url) as session:
        for action in actions:
            transition(
                session,
                user_id=user_id,
                target=Target(kind, target),  # type: ignore[arg-type]
                action=action,  # type: ignore[arg-type]
                actor="test",
                reason="set-up",
                push_to_auth0=False,
            )


@pytest.fixture
def api(db_url: str, auth0_env, recaptcha_env, settings_env) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    from aai_cli.services import auth0
    from api.app import create_app

    settings_env(ADMIN_ROLES=f'["{SUPER_ROLE}"]')
    # The process's gateway caches role ids, which the local Auth0 changes at each reset.
    auth0.close_gateway()
    with TestClient(create_app()) as client:
        yield Api(client, auth0_env, db_url, recaptcha_env)
    auth0.close_gateway()
