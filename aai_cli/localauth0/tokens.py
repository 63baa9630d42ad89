"""Keys and tokens of the local Auth0: the JWKS and discovery documents, the client-credentials
token endpoint, Management API bearer checks, and minting of access tokens for the portal API.
A mixin of LocalAuth0 (which provides url, issuer, domain, client_id/secret, api_audience)."""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Any

import jwt

from aai_cli.localauth0.accounts import PASSWORD_GRANTS
from aai_cli.localauth0.keys import SigningKey, pooled_key, verify
from aai_cli.localauth0.messages import ApiError, Request, Response

ROLES_CLAIM = "https://biocommons.org.au/roles"
MANAGEMENT_SCOPE = (
    "read:users update:users delete:users create:users read:roles create:roles "
    "update:roles delete:roles read:role_members create:role_members delete:role_members"
)


class TokenAuthority:
    domain: str
    client_id: str
    client_secret: str
    api_audience: str
    token_expires_in: int

    @property
    def url(self) -> str:
        raise NotImplementedError  # LocalAuth0: where it listens

    @property
    def issuer(self) -> str:
        return f"{self.url}/"

    @property
    def management_audiences(self) -> set[str]:
        return {f"https://{self.domain}/api/v2/", f"{self.url}/api/v2/"}

    def _password_token(self, body: dict[str, Any]) -> Response:
        raise NotImplementedError  # LocalAuth0 answers the password grants

    def _reset_tokens(self) -> None:
        self._keys = [pooled_key(0)]
        self._active_key = self._keys[0]
        self._key_count = 1
        self._valid_tokens: dict[str, float] = {}
        self._revoked: set[str] = set()
        self._token_lock = threading.Lock()

    def rotate_key(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on; the JWKS lists both (or only the new one)."""
        key = pooled_key(self._key_count)
        self._key_count += 1
        self._keys = [*self._keys, key] if keep_old else [key]
        self._active_key = key
        return key.kid

    @property
    def active_kid(self) -> str:
        return self._active_key.kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self._keys]}

    def mint_token(
        self,
        sub: str,
        *,
        roles: list[str] | None = None,
        audience: str | list[str] | None = None,
        issuer: str | None = None,
        expires_in: int = 3600,
        kid: str | None = None,
        extra_claims: dict[str, Any] | None = None,
        alg: str = "RS256",
        headers: dict[str, Any] | None = None,
        key: SigningKey | None = None,
    ) -> str:
        """An access token as Auth0 would issue for the portal API. `roles` go into the
        https://biocommons.org.au/roles claim; extra_claims with None remove a claim;
        alg "HS256" signs with the client secret, "none" leaves it unsigned."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "sub": sub,
            "aud": audience or self.api_audience,
            "iat": now,
            "exp": now + expires_in,
            "azp": self.client_id,
            "scope": "openid profile email",
        }
        if roles is not None:
            claims[ROLES_CLAIM] = list(roles)
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        signer = key or self._active_key
        all_headers = {"kid": kid or signer.kid, **(headers or {})}
        if alg == "RS256":
            return signer.sign(claims, headers=all_headers)
        if alg == "none":
            return jwt.encode(claims, "", algorithm="none", headers=all_headers)
        return jwt.encode(claims, self.client_secret, algorithm=alg, headers=all_headers)

    def action_session_token(
        self,
        user_id: str,
        *,
        claims: dict[str, Any] | None = None,
        secret: str | None = None,
        expires_in: int = 300,
        alg: str = "HS256",
    ) -> str:
        """A session token as a post-login Action's redirect helper makes it: HS256 with the
        Action's secret (default: the management client secret, as the tenant's Actions use
        today), `iss` the tenant, `sub` the user, `iat`, `exp`, a random `jti` (two tokens
        minted in one second differ, as two redirects' tokens do), and `claims` (None
        removes one). `alg` "none" leaves it unsigned."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.domain,
            "sub": user_id,
            "iat": now,
            "exp": now + expires_in,
            "ip": "203.0.113.7",
            "jti": secrets.token_hex(8),
        }
        for name, value in (claims or {}).items():
            if value is None:
                payload.pop(name, None)
            else:
                payload[name] = value
        if alg == "none":
            return jwt.encode(payload, "", algorithm="none")
        return jwt.encode(payload, secret or self.client_secret, algorithm=alg)

    def management_token(
        self, *, expires_in: int | None = None, audience: str | None = None
    ) -> str:
        """A Management API token as POST /oauth/token would return it."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"{self.client_id}@clients",
            "aud": audience or f"https://{self.domain}/api/v2/",
            "iat": now,
            "exp": now + (self.token_expires_in if expires_in is None else expires_in),
            "azp": self.client_id,
            "scope": MANAGEMENT_SCOPE,
            "gty": "client-credentials",
            "jti": os.urandom(8).hex(),  # tokens issued in the same second stay distinct
        }
        token = self._active_key.sign(claims)
        if claims["aud"] in self.management_audiences:
            with self._token_lock:
                self._valid_tokens[token] = float(claims["exp"])
        return token

    def invalidate_tokens(self) -> None:
        """Every Management API token issued so far gets 401 from now on (simulates expiry)."""
        with self._token_lock:
            self._revoked.update(self._valid_tokens)
            self._valid_tokens.clear()

    # --- request handling --------------------------------------------------------------

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "Missing authentication", attributes={"error": "Missing authentication"}
            )
        token = token.strip()
        with self._token_lock:
            expiry = self._valid_tokens.get(token)
            revoked = token in self._revoked
        if revoked:
            raise _unauthorized("Expired token received for JSON Web Token validation")
        if expiry is None:
            try:
                claims = verify(token, self._keys, audience=list(self.management_audiences))
            except jwt.ExpiredSignatureError:
                raise _unauthorized(
                    "Expired token received for JSON Web Token validation"
                ) from None
            except jwt.InvalidTokenError:
                raise _unauthorized("Invalid token") from None
            expiry = float(claims["exp"])
            with self._token_lock:
                self._valid_tokens[token] = expiry
        if time.time() >= expiry:
            raise _unauthorized("Expired token received for JSON Web Token validation")

    def _token(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            body = {}
        if body.get("grant_type") in PASSWORD_GRANTS:
            return self._password_token(body)
        if body.get("grant_type") != "client_credentials":
            grant = body.get("grant_type")
            return _oauth_error(
                400, "unsupported_grant_type", f"Grant type '{grant}' not allowed for the client."
            )
        if (
            body.get("client_id") != self.client_id
            or body.get("client_secret") != self.client_secret
        ):
            return _oauth_error(401, "access_denied", "Unauthorized")
        audience = body.get("audience")
        if not audience:
            return _oauth_error(
                403,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
            )
        if audience not in self.management_audiences and audience != self.api_audience:
            return _oauth_error(
                403, "access_denied", f"Service not enabled within domain: {audience}"
            )
        token = self.management_token(audience=audience)
        return Response(
            200,
            {
                "access_token": token,
                "expires_in": self.token_expires_in,
                "scope": MANAGEMENT_SCOPE,
                "token_type": "Bearer",
            },
        )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, attributes={"error": message})


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})
