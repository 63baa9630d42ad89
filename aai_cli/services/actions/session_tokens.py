"""The session tokens Auth0's Actions send: HS256 JWTs with an `exp`, checked with the
Actions' shared secret, and spent once.

A token's defects are 401 (`invalid session_token`, `session_token expired`, `session_token
already used`) or 400 (a claim the flow needs is missing or names another flow), never a
500. `alg` must be HS256 (`none` and RS256 are refused: the secret is shared, so a token
signed any other way is not the Action's). `iss`, `aud` and `iat` are not checked: the
Actions' redirect-token helper decides them, and the secret is what proves the sender.

A token is spent by the flow it was sent to: its SHA-256 digest is written in a short
transaction before the flow calls Auth0, so a replay (the same token again, or twice at
once) is refused. When the call fails for a reason the person cannot help (Auth0
unavailable) the spend is released, so that the same link may be tried again. Rows are
kept until the token would have expired anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from aai_cli.db import session_scope
from aai_cli.errors import ConfigError, InvalidInput
from aai_cli.models import SessionTokenUse, utcnow
from aai_cli.services.auth0 import InvalidToken

ALGORITHM = "HS256"
MAX_TOKEN_LENGTH = 8192
LEEWAY_S = 30
# An Action's token lives minutes; one that claims to live longer is refused, which also
# bounds how long a spent token's row is kept.
MAX_LIFETIME = timedelta(hours=24)


class SessionTokenRefused(InvalidToken):
    """The session token is not acceptable (HTTP 401)."""


class SessionTokenClaims(InvalidInput):
    """The session token is genuine but lacks what its flow needs (HTTP 400)."""


@dataclass(frozen=True)
class SessionToken:
    """A verified session token: its claims, its digest and when it expires."""

    digest: str
    expires_at: datetime
    claims: dict[str, Any] = field(repr=False)

    def text(self, name: str, *, missing: str | None = None) -> str:
        """The non-empty string claim `name`; 400 naming it when absent."""
        value = self.claims.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 320:
            raise SessionTokenClaims(missing or f"Invalid session token: '{name}'")
        return value.strip()


def verify(token: str, secret: str | None, *, now: datetime | None = None) -> SessionToken:
    """The token's claims when `secret` signed it with HS256 and it has not expired."""
    if not secret:
        raise ConfigError(
            "the Actions' session tokens cannot be checked: set AUTH0_ACTION_SECRET "
            "(or AUTH0_MANAGEMENT_SECRET)"
        )
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise SessionTokenRefused("invalid session_token")
    now = now or utcnow()
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise SessionTokenRefused("session_token expired") from None
    except jwt.PyJWTError:
        raise SessionTokenRefused("invalid session_token") from None
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    if expires_at - now > MAX_LIFETIME:
        raise SessionTokenRefused("invalid session_token: it lives longer than a day")
    digest = hashlib.sha256(token.encode()).hexdigest()
    return SessionToken(digest=digest, expires_at=expires_at, claims=claims)


def spend(token: SessionToken, *, flow: str, user_id: str) -> None:
    """Record the token as used by `flow` (its own short transaction); 401 when it was
    used before, by this flow or another."""
    use = SessionTokenUse(
        digest=token.digest, flow=flow, user_id=user_id, expires_at=token.expires_at
    )
    try:
        with session_scope() as session:
            session.add(use)
            session.flush()
    except IntegrityError:
        raise SessionTokenRefused("session_token already used") from None


def release(token: SessionToken) -> None:
    """Forget a spend whose flow could not be carried out, so the link works again."""
    with session_scope() as session:
        session.execute(delete(SessionTokenUse).where(col(SessionTokenUse.digest) == token.digest))


def prune_spent(session: Session, *, now: datetime | None = None) -> int:
    """Delete the spent tokens that have expired (they would be refused anyway)."""
    cutoff = (now or utcnow()) - timedelta(seconds=LEEWAY_S)
    result = session.execute(
        delete(SessionTokenUse).where(col(SessionTokenUse.expires_at) < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
