"""Request dependencies: the database session, the caller from the bearer token, admin scope.

The session dependency has function scope: its transaction commits before the response is
sent (so a failed commit is an error response, never a 200), and background tasks run
after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from aai_cli.db import finish, new_session, session_scope
from aai_cli.errors import ServiceUnavailable
from aai_cli.models import User
from aai_cli.services.access import profile, scopes
from aai_cli.services.auth0 import Caller, InvalidToken, TokenVerifier
from aai_cli.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An Auth0 access token for the AAI API")


# Dependencies that do no blocking I/O are `async def`: FastAPI runs every sync
# dependency in the thread pool, and each hop costs about a millisecond here.


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _session_dependency(readonly: Callable[[Request], bool]) -> Any:
    async def session_dependency(request: Request) -> AsyncIterator[Session]:
        # Opening a session does no I/O, so it happens on the event loop; the commit (or
        # rollback) runs in the thread pool: one hop, not the two of a sync generator.
        session = new_session(readonly=readonly(request))
        try:
            yield session
        except BaseException:
            await run_in_threadpool(finish, session, ok=False)
            raise
        await run_in_threadpool(finish, session, ok=True)

    return session_dependency


# Reads do not take SQLite's write lock (db.py). GET routes do not write; a row created on
# a caller's first sight is written in a short transaction of its own (load_me).
get_session = _session_dependency(lambda request: request.method in READ_METHODS)


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
) -> scopes.Administered:
    return scopes.administered(session, caller.roles, super_roles=settings.admin_roles)


AdministeredDep = Annotated[scopes.Administered, Depends(get_administered)]


async def get_admin(who: AdministeredDep) -> scopes.Administered:
    """The caller's admin reach; 403 for a caller who administers nothing."""
    return scopes.require_admin(who)


AdminDep = Annotated[scopes.Administered, Depends(get_admin)]


async def get_user_source(request: Request) -> profile.UserSource | None:
    """The Auth0 gateway, when the Management API is configured."""
    return request.app.state.user_source()


UserSourceDep = Annotated[profile.UserSource | None, Depends(get_user_source)]


def required_gateway(source: Any) -> Any:
    """The Auth0 gateway, or 503 when the Management API is not configured (called where
    a route needs Auth0, after the checks that come first)."""
    if source is None:
        raise ServiceUnavailable("the Auth0 Management API is not set up")
    return source


def end_transaction(session: Session) -> None:
    """End the request's transaction before a call to Auth0 or another service, so that
    no transaction (nor SQLite's write lock) is held across it. Called after reads only;
    the rows read stay usable (sessions do not expire on commit) and the next statement
    begins a new transaction."""
    session.commit()


def gateway_for_call(session: Session, source: Any) -> Any:
    """The Auth0 gateway for a call about to be made, asked for once the request's checks
    have passed: 503 when the Management API is not configured; the request's read
    transaction ends first (`end_transaction`)."""
    end_transaction(session)
    return required_gateway(source)


def load_me(session: Session, user_id: str, source: profile.UserSource | None) -> User:
    """The caller's row (soft-deleted too: reads may stay). On first sight it is created
    from Auth0: the request's transaction ends first and the row is written in a short one
    of its own, so no transaction stays open while Auth0 answers and a GET, which reads
    with the read-only session, never takes the write lock for a known caller."""
    user = profile.get_own_row(session, user_id)
    if user is not None:
        return user
    end_transaction(session)
    remote = profile.fetch_identity(user_id, source=source)
    with session_scope() as writer:
        return profile.adopt(writer, user_id, remote)


def get_me(caller: CallerDep, session: SessionDep, source: UserSourceDep) -> User:
    return load_me(session, caller.sub, source)


MeDep = Annotated[User, Depends(get_me)]


async def get_active_me(me: MeDep) -> User:
    """The caller, who may act: 403 for a blocked or deleted account. Every `/me` route
    that writes (and every access request) takes this rather than MeDep."""
    return profile.require_active(me)


ActiveMeDep = Annotated[User, Depends(get_active_me)]
