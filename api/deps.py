"""Request dependencies: the database session, the caller from the bearer token, admin scope.

The session dependency has function scope: its transaction commits before the response is
sent (so a failed commit is an error response, never a 200), and background tasks run
after the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from aai_cli.db import session_scope
from aai_cli.errors import ServiceUnavailable
from aai_cli.models import User
from aai_cli.services import access, profile
from aai_cli.services.tokens import Caller, InvalidToken, TokenVerifier
from aai_cli.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An Auth0 access token for the AAI API")


# Dependencies that do no blocking I/O are `async def`: FastAPI runs every sync
# dependency in the thread pool, and each hop costs about a millisecond here.


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's session; reads do not take SQLite's write lock (GET routes do not
    write: /me/profile, which may create the caller's row, opens its own session)."""
    with session_scope(readonly=request.method in READ_METHODS) as session:
        yield session


def get_verifier(request: Request) -> TokenVerifier:
    verifier = request.app.state.verifier
    if verifier is None:
        raise ServiceUnavailable(
            "authentication is not configured (set AUTH0_AUDIENCE and AUTH0_DOMAIN)"
        )
    return verifier


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidToken("a bearer token is required")
    verifier = get_verifier(request)
    token = credentials.credentials
    if verifier.may_block(token):  # an unknown kid: the JWKS may be fetched
        return await run_in_threadpool(verifier.verify, token)
    return verifier.verify(token)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
CallerDep = Annotated[Caller, Depends(get_caller)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_administered(
    caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> access.Administered:
    return access.administered(session, caller.roles, super_roles=settings.admin_roles)


AdministeredDep = Annotated[access.Administered, Depends(get_administered)]


async def get_admin(who: AdministeredDep) -> access.Administered:
    """The caller's admin reach; 403 for a caller who administers nothing."""
    return access.require_admin(who)


AdminDep = Annotated[access.Administered, Depends(get_admin)]


async def get_user_source(request: Request) -> profile.UserSource | None:
    """The Auth0 gateway, when the Management API is configured."""
    return request.app.state.user_source()


UserSourceDep = Annotated[profile.UserSource | None, Depends(get_user_source)]


def get_me(caller: CallerDep, session: SessionDep, source: UserSourceDep) -> User:
    return profile.require_me(session, caller.sub, source=source)


MeDep = Annotated[User, Depends(get_me)]
