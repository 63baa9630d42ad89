"""Validation of Auth0 access tokens (RS256 JWTs) against the tenant's JWKS.

Plain service code: the API's dependency calls `TokenVerifier.verify()` and maps
`InvalidToken` to a 401. Every defect of a token (none, malformed, expired, wrong
audience or issuer, `alg: none`, HS256, unknown or missing `kid`, bad signature) is an
`InvalidToken`; only an unreachable JWKS endpoint is something else (`Auth0Unavailable`).

The JWKS is cached: an unknown `kid` triggers at most one refetch per `refetch_interval_s`
(so garbage tokens cannot hammer Auth0), and a failed fetch is never cached as keys. One
request fetches, with a short timeout, and no other request waits for it: tokens of known
keys are checked against the keys in hand, and an unknown `kid` is refused at once.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import jwt

from aai_cli.errors import AaiError, Auth0Unavailable, ConfigError

ALGORITHM = "RS256"
DEFAULT_LEEWAY_S = 30
JWKS_REFETCH_INTERVAL_S = 30.0
JWKS_FAILURE_BACKOFF_S = 2.0
JWKS_FIRST_FETCH_WAIT_S = 5.0
JWKS_TIMEOUT_S = 3.0
MAX_TOKEN_LENGTH = 16_384


class InvalidToken(AaiError, exit_code=2):
    """The bearer token is missing or not acceptable (HTTP 401)."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's subject and its roles."""

    sub: str
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


_http_client: Any = None


def _http() -> Any:
    """One HTTP client per process (building one loads the CA bundle: ~0.2 s)."""
    global _http_client
    if _http_client is None:
        import httpx

        _http_client = httpx.Client(timeout=JWKS_TIMEOUT_S)
    return _http_client


def _fetch_jwks_http(url: str, *, timeout_s: float = JWKS_TIMEOUT_S) -> dict[str, Any]:
    import httpx

    try:
        response = _http().get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise Auth0Unavailable(f"cannot fetch the JWKS: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise Auth0Unavailable(f"cannot fetch the JWKS: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise Auth0Unavailable("the JWKS endpoint did not answer JSON") from None


@dataclass(eq=False, repr=False)
class JwksCache:
    """Signing keys by `kid`, refreshed on an unknown `kid` at most once per interval."""

    url: str
    _: KW_ONLY
    fetch: Callable[[str], dict[str, Any]] = _fetch_jwks_http
    refetch_interval_s: float = JWKS_REFETCH_INTERVAL_S
    failure_backoff_s: float = JWKS_FAILURE_BACKOFF_S
    first_fetch_wait_s: float = JWKS_FIRST_FETCH_WAIT_S
    clock: Callable[[], float] = time.monotonic
    fetches: int = field(default=0, init=False)
    _keys: dict[str, Any] = field(default_factory=dict, init=False)
    _fetched_at: float | None = field(default=None, init=False)
    _failed_at: float | None = field(default=None, init=False)
    _refreshing: bool = field(default=False, init=False)
    _refresh_done: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def has_key(self, kid: object) -> bool:
        return isinstance(kid, str) and kid in self._keys

    def get_key(self, kid: str) -> Any:
        """The public key for `kid`; raises InvalidToken when the JWKS does not have it."""
        if kid not in self._keys:
            if self._claim_refresh():
                try:
                    self._refresh()
                finally:
                    with self._lock:
                        self._refreshing = False
                    self._refresh_done.set()
            elif self._fetched_at is None:
                self._await_first_keys()
        key = self._keys.get(kid)  # this caller's refresh, or another's, may have brought it
        if key is None:
            raise InvalidToken("the token's signing key is unknown")
        return key

    def _claim_refresh(self) -> bool:
        """Whether this caller fetches the JWKS now. The lock guards this bookkeeping only,
        never the fetch: while one caller fetches, the others do not wait for it."""
        with self._lock:
            if self._refreshing or not self._may_fetch():
                return False
            self._refreshing = True
            self._refresh_done.clear()
            return True

    def _await_first_keys(self) -> None:
        """Before any keys have arrived there is nothing to serve meanwhile: wait for the
        fetch in flight (an event, not the lock; bounded by the fetch's own timeout), and
        answer 503 if it brings nothing."""
        self._refresh_done.wait(self.first_fetch_wait_s)
        if self._fetched_at is None:
            raise Auth0Unavailable("the signing keys are being fetched; try again shortly")

    def _may_fetch(self) -> bool:
        now = self.clock()
        if self._failed_at is not None and now - self._failed_at < self.failure_backoff_s:
            if self._fetched_at is None:
                raise Auth0Unavailable("the JWKS endpoint failed moments ago; try again shortly")
            return False
        return self._fetched_at is None or now - self._fetched_at >= self.refetch_interval_s

    def _refresh(self) -> None:
        self.fetches += 1
        try:
            document = self.fetch(self.url)
            keys = _parse_jwks(document)
        except Auth0Unavailable:
            self._failed_at = self.clock()
            raise
        self._keys = keys
        self._fetched_at = self.clock()
        self._failed_at = None


def _parse_jwks(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise Auth0Unavailable("the JWKS document has no 'keys' list")
    keys: dict[str, Any] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return keys


class TokenVerifier:
    """Checks signature, `aud`, `iss`, `exp`/`nbf`/`iat` and reads the roles claim."""

    def __init__(
        self,
        *,
        jwks: JwksCache,
        audience: str,
        issuers: Iterable[str],
        roles_claim: str,
        leeway_s: float = DEFAULT_LEEWAY_S,
    ) -> None:
        self.jwks = jwks
        self.audience = audience
        self.issuers = list(issuers)
        self.roles_claim = roles_claim
        self.leeway_s = leeway_s

    @classmethod
    def from_settings(cls, settings: Any) -> TokenVerifier:
        if not settings.auth0_audience:
            raise ConfigError("AUTH0_AUDIENCE is not set (the API audience of access tokens)")
        issuers = settings.accepted_issuers
        if not issuers:
            raise ConfigError("set AUTH0_DOMAIN or AUTH0_ISSUER (the accepted token issuers)")
        fetch = functools.partial(_fetch_jwks_http, timeout_s=settings.auth0_jwks_timeout_s)
        return cls(
            jwks=JwksCache(
                settings.jwks_url,
                fetch=fetch,
                first_fetch_wait_s=settings.auth0_jwks_timeout_s + 1,
            ),
            audience=settings.auth0_audience,
            issuers=issuers,
            roles_claim=settings.auth0_roles_claim,
        )

    def may_block(self, token: str) -> bool:
        """Whether verifying `token` may fetch the JWKS (network I/O); otherwise it is
        pure computation, cheap enough for an event loop."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
            return False  # malformed: verify() refuses it without I/O
        return not self.jwks.has_key(kid)

    def verify(self, token: str | None) -> Caller:
        if not token:
            raise InvalidToken("a bearer token is required")
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise InvalidToken("the token is malformed")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken("the token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"the token must be signed with {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token has no key id (kid)")
        key = self.jwks.get_key(kid)
        claims = self._decode(token, key)
        return _caller(claims, self.roles_claim)

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuers,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is not meant for this API (audience)") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token's issuer is not accepted") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature is invalid") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidToken("the token is invalid") from None


def _caller(claims: dict[str, Any], roles_claim: str) -> Caller:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise InvalidToken("the token has no usable subject (sub)")
    return Caller(
        sub=sub,
        roles=_strings(claims.get(roles_claim)),
        permissions=_strings(claims.get("permissions")),
        claims=claims,
    )


def _strings(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))
