"""The OpenID Connect side of the local Auth0: what a single-page app's Auth0 SDK uses to log
a user in (auth0-spa-js, auth0-angular). A mixin of LocalAuth0.

- GET /authorize: the authorization code flow with PKCE (`code_challenge`, S256 or plain).
  Instead of a password form, a plain page lists the tenant's users: picking one
  (POST /authorize) logs them in, opens a session (a cookie on this server) and redirects
  to `redirect_uri` with `code` and `state`. `prompt=none` answers from the session, else
  `login_required`. `response_mode` query (default), fragment or web_message (the SDK's
  silent-authentication iframe). A blocked user gets `unauthorized` "user is blocked".
- POST /oauth/token: `authorization_code` (one use, ten minutes, the PKCE verifier checked,
  the redirect_uri repeated) and `refresh_token` (rotating: the old one stops working);
  answers an access token for `audience` (default: the API audience, as a tenant's default
  audience does) carrying the roles claim like the tenant's post-login Action adds it, with
  the userinfo audience beside the API's when `openid` is asked for, an ID token (RS256,
  audience the client, the `nonce`) and a refresh token with `offline_access`.
- GET|POST /userinfo: the profile of the access token's user. GET /v2/logout: ends the
  session and redirects to `returnTo` when given.
- Every answer outside /api/v2 carries CORS headers for the calling origin, and OPTIONS
  is answered (the SDK calls /oauth/token and /userinfo from the app's origin).

Chosen where a real tenant is configured per application: any `redirect_uri` and any
`returnTo` are allowed (the server listens on loopback only); the known clients are the
tenant's applications (`Accounts.clients`), all public.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt

from aai_cli.localauth0.accounts import Accounts
from aai_cli.localauth0.keys import verify
from aai_cli.localauth0.messages import Request, Response
from aai_cli.localauth0.store import TenantStore
from aai_cli.localauth0.tokens import TokenAuthority

SESSION_COOKIE = "localauth0_session"
CODE_TTL_S = 600
USER_TOKEN_TTL_S = 86400
HTML = "text/html; charset=utf-8"
_AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "scope",
    "audience",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
)


@dataclass(frozen=True)
class Grant:
    """What a code or a refresh token stands for."""

    user_id: str
    client_id: str
    scope: str
    audience: str
    redirect_uri: str = ""
    nonce: str | None = None
    challenge: str | None = None
    challenge_method: str = "S256"
    expires_at: float = 0.0


class OidcProvider(TokenAuthority):
    store: TenantStore
    accounts: Accounts

    def _reset_oidc(self) -> None:
        self._codes: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._sessions: dict[str, str] = {}  # session cookie -> user_id
        self._oidc_lock = threading.Lock()

    # --- tokens for users --------------------------------------------------------------

    @property
    def userinfo_audience(self) -> str:
        return f"{self.issuer}userinfo"

    def user_token(
        self,
        user_id: str,
        *,
        audience: str | None = None,
        scope: str = "openid profile email",
        client_id: str | None = None,
        expires_in: int = USER_TOKEN_TTL_S,
    ) -> str:
        """An access token as the tenant issues it at login: the user's roles in the roles
        claim, and the userinfo audience beside the API's when `openid` is in `scope`."""
        roles = [r["name"] for r in self.store.roles_of(user_id)]
        api = audience or self.api_audience
        aud: str | list[str] = [api, self.userinfo_audience] if "openid" in scope.split() else api
        extra: dict[str, Any] = {"scope": scope}
        if client_id:
            extra["azp"] = client_id
        return self.mint_token(
            user_id, roles=roles, audience=aud, expires_in=expires_in, extra_claims=extra
        )

    def id_token(self, user_id: str, *, client_id: str, nonce: str | None) -> str:
        user = self.store.users.get(user_id) or {}
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user_id,
            "aud": client_id,
            "iat": now,
            "exp": now + 36000,
            "sid": secrets.token_hex(8),
            **_profile(user),
        }
        if nonce:
            claims["nonce"] = nonce
        return self._active_key.sign(claims)

    # --- /authorize ----------------------------------------------------------------------

    def authorize_page(self, req: Request) -> Response:
        """GET /authorize."""
        params = {k: v for k, v in req.query.items() if k in _AUTHORIZE_FIELDS}
        problem = self._check_authorize(params)
        if problem is not None:
            return problem
        if params.get("response_type") != "code":
            return _answer(params, _error("unsupported_response_type", "Only code is served."))
        if params.get("prompt") == "none":
            user_id = self._session_user(req)
            if user_id is None:
                return _answer(params, _error("login_required", "Login required"))
            return self._logged_in(params, user_id, session=None)
        return Response(200, self._persona_page(params).encode(), content_type=HTML)

    def authorize_pick(self, req: Request) -> Response:
        """POST /authorize: the persona page's form (the original parameters and `user_id`)."""
        fields = req.json()
        fields = fields if isinstance(fields, dict) else {}
        params = {k: str(v) for k, v in fields.items() if k in _AUTHORIZE_FIELDS}
        problem = self._check_authorize(params)
        if problem is not None:
            return problem
        user = self.store.users.get(str(fields.get("user_id") or ""))
        if user is None:
            return _answer(params, _error("access_denied", "Unknown user"))
        if user.get("blocked"):
            return _answer(params, _error("unauthorized", "user is blocked"))
        session = secrets.token_urlsafe(24)
        with self._oidc_lock:
            self._sessions[session] = user["user_id"]
        self.accounts.open_session(user["user_id"], refresh_token=False)
        return self._logged_in(params, user["user_id"], session=session)

    def _check_authorize(self, params: dict[str, str]) -> Response | None:
        """Problems Auth0 shows on its own error page (no redirect): an unknown client, no
        or a malformed redirect_uri, an unsupported PKCE method."""
        if params.get("client_id") not in self.accounts.clients:
            return _page(400, "Unknown client", "the client_id is not an application here")
        redirect = params.get("redirect_uri", "")
        if urlsplit(redirect).scheme not in ("http", "https") or not urlsplit(redirect).netloc:
            return _page(400, "Invalid redirect_uri", "redirect_uri must be an http(s) URL")
        if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in (
            "S256",
            "plain",
        ):
            return _page(400, "Invalid code_challenge_method", "use S256 (or plain)")
        return None

    def _logged_in(self, params: dict[str, str], user_id: str, *, session: str | None) -> Response:
        code = secrets.token_urlsafe(24)
        grant = Grant(
            user_id=user_id,
            client_id=params["client_id"],
            scope=params.get("scope") or "openid profile email",
            audience=params.get("audience") or self.api_audience,
            redirect_uri=params["redirect_uri"],
            nonce=params.get("nonce"),
            challenge=params.get("code_challenge"),
            challenge_method=params.get("code_challenge_method") or "plain",
            expires_at=time.time() + CODE_TTL_S,
        )
        with self._oidc_lock:
            self._codes[code] = grant
        response = _answer(params, {"code": code})
        if session is not None:
            response.headers["Set-Cookie"] = (
                f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
            )
        return response

    def _session_user(self, req: Request) -> str | None:
        for part in req.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE:
                with self._oidc_lock:
                    user_id = self._sessions.get(value)
                if user_id is not None and user_id in self.store.users:
                    return user_id
        return None

    def _persona_page(self, params: dict[str, str]) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        with self.store.lock:
            users = sorted(self.store.users.values(), key=lambda u: str(u.get("name", "")))
            rows = []
            for user in users[:200]:
                roles = ", ".join(r["name"] for r in self.store.roles_of(user["user_id"]))
                notes = [
                    note
                    for note, flag in (
                        ("blocked", user.get("blocked")),
                        ("email not verified", not user.get("email_verified")),
                    )
                    if flag
                ]
                rows.append(
                    "<li><form method=post action=/authorize>"
                    f'{hidden}<input type="hidden" name="user_id" '
                    f'value="{html.escape(user["user_id"])}">'
                    f'<button type=submit name="login" value="{html.escape(_handle(user))}">'
                    f"{html.escape(str(user.get('name', '')))}</button> "
                    f"<code>{html.escape(_handle(user))}</code> "
                    f"{html.escape(str(user.get('email', '')))}"
                    f"{' <em>(' + ', '.join(notes) + ')</em>' if notes else ''}"
                    f"<br><small>{html.escape(roles) or 'no roles'}</small></form></li>"
                )
        return (
            "<!doctype html><html><head><meta charset=utf-8><title>Log in (local Auth0)</title>"
            "</head><body><h1>Log in as</h1><p>The local Auth0 asks for no password: pick "
            "a user.</p><ul>" + "".join(rows) + "</ul></body></html>"
        )

    # --- /oauth/token (authorization_code, refresh_token) -----------------------------

    def _token(self, req: Request) -> Response:
        body = req.json()
        grant = body.get("grant_type") if isinstance(body, dict) else None
        if grant == "authorization_code":
            return self.code_token(body)
        if grant == "refresh_token":
            return self.refresh_token_grant(body)
        return super()._token(req)

    def code_token(self, body: dict[str, Any]) -> Response:
        code = str(body.get("code") or "")
        with self._oidc_lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at < time.time():
            return _oauth(403, "invalid_grant", "Invalid authorization code")
        if body.get("client_id") != grant.client_id:
            return _oauth(403, "invalid_grant", "Invalid authorization code")
        if body.get("redirect_uri") and body.get("redirect_uri") != grant.redirect_uri:
            return _oauth(
                403, "invalid_grant", "The redirect_uri does not match the authorization request"
            )
        if grant.challenge and not _pkce_matches(
            str(body.get("code_verifier") or ""), grant.challenge, grant.challenge_method
        ):
            return _oauth(403, "invalid_grant", "Failed PKCE verification")
        return self._tokens(grant)

    def refresh_token_grant(self, body: dict[str, Any]) -> Response:
        old = str(body.get("refresh_token") or "")
        with self._oidc_lock:
            grant = self._refresh.pop(old, None)
        if grant is None or body.get("client_id") != grant.client_id:
            return _oauth(403, "invalid_grant", "Unknown or invalid refresh token.")
        if grant.user_id not in self.store.users:
            return _oauth(403, "invalid_grant", "Unknown or invalid refresh token.")
        return self._tokens(grant)

    def _tokens(self, grant: Grant) -> Response:
        user = self.store.users.get(grant.user_id)
        if user is None or user.get("blocked"):
            return _oauth(401, "unauthorized", "user is blocked")
        body: dict[str, Any] = {
            "access_token": self.user_token(
                grant.user_id,
                audience=grant.audience,
                scope=grant.scope,
                client_id=grant.client_id,
            ),
            "expires_in": USER_TOKEN_TTL_S,
            "scope": grant.scope,
            "token_type": "Bearer",
        }
        if "openid" in grant.scope.split():
            body["id_token"] = self.id_token(
                grant.user_id, client_id=grant.client_id, nonce=grant.nonce
            )
        if "offline_access" in grant.scope.split():
            refresh = secrets.token_urlsafe(32)
            with self._oidc_lock:
                self._refresh[refresh] = grant
            body["refresh_token"] = refresh
        return Response(200, body, headers={"Cache-Control": "no-store"})

    # --- /userinfo, /v2/logout -------------------------------------------------------

    def userinfo(self, req: Request) -> Response:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise jwt.InvalidTokenError("no bearer token")
            claims = verify(token.strip(), self._keys, audience=self.userinfo_audience)
        except jwt.InvalidTokenError:
            return Response(401, b"Unauthorized", content_type="text/plain")
        user = self.store.users.get(str(claims.get("sub")))
        if user is None:
            return Response(401, b"Unauthorized", content_type="text/plain")
        return Response(200, {"sub": user["user_id"], **_profile(user)})

    def logout(self, req: Request) -> Response:
        cookie = req.headers.get("cookie", "")
        with self._oidc_lock:
            for part in cookie.split(";"):
                name, _, value = part.strip().partition("=")
                if name == SESSION_COOKIE:
                    self._sessions.pop(value, None)
        clear = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        return_to = req.query.get("returnTo")
        if return_to and urlsplit(return_to).scheme in ("http", "https"):
            return Response(302, None, headers={"Location": return_to, "Set-Cookie": clear})
        return Response(200, b"OK", headers={"Set-Cookie": clear}, content_type="text/plain")

    def signed_in(self, user_id: str) -> bool:
        """Whether a login session of the user is open here (tests)."""
        with self._oidc_lock:
            return user_id in self._sessions.values()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/oauth/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/.well-known/jwks.json",
            "end_session_endpoint": f"{self.url}/v2/logout",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "web_message"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
            ],
            "code_challenge_methods_supported": ["S256", "plain"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "iat",
                "iss",
                "name",
                "nickname",
                "picture",
                "sub",
            ],
        }


def cors_headers(req: Request) -> dict[str, str]:
    """CORS for the SDK's calls from the app's origin (never /api/v2: a server calls that)."""
    origin = req.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, Auth0-Client",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _handle(user: dict[str, Any]) -> str:
    return str(user.get("username") or user.get("email") or user["user_id"])


def _profile(user: dict[str, Any]) -> dict[str, Any]:
    names = ("name", "nickname", "picture", "given_name", "family_name", "email", "updated_at")
    profile = {k: user[k] for k in names if user.get(k) is not None}
    profile["email_verified"] = bool(user.get("email_verified"))
    return profile


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return bool(verifier) and secrets.compare_digest(computed, challenge)


def _error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


def _answer(params: dict[str, str], result: dict[str, str]) -> Response:
    """Send the authorization result back the way `response_mode` asks."""
    if params.get("state") is not None:
        result = {**result, "state": params["state"]}
    redirect = params["redirect_uri"]
    mode = params.get("response_mode") or "query"
    if mode == "web_message":
        parts = urlsplit(redirect)
        origin = f"{parts.scheme}://{parts.netloc}"
        message = json.dumps({"type": "authorization_response", "response": result})
        script = (
            "<!doctype html><html><body><script>"
            f"(window.opener || window.parent).postMessage({message}, {origin!r});"
            "</script></body></html>"
        )
        return Response(200, script.encode(), content_type=HTML)
    separator = "#" if mode == "fragment" else ("&" if "?" in redirect else "?")
    return Response(302, None, headers={"Location": f"{redirect}{separator}{urlencode(result)}"})


def _page(status: int, title: str, text: str) -> Response:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return Response(status, body.encode(), content_type=HTML)


def _oauth(status: int, error: str, description: str) -> Response:
    return Response(status, _error(error, description))
