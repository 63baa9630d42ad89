"""A local Auth0 for tests: a real HTTP server on 127.0.0.1 behaving as Auth0's documented
Management API does (see ../shared/AUTH0.md), so the real auth0-python SDK runs over the wire.

Run it by hand (prints one JSON line with url, client_id, client_secret, domain, audience):

    uv run python -m tests.fakes.auth0_server --port 9000 --users 1000
    uv run python -m tests.fakes.auth0_server --port 0 --users 100000 --role-members 20000 \
        --rate-limit 50 --burst 100

then point the CLI at it: AUTH0_BASE_URL=http://127.0.0.1:9000 AUTH0_DOMAIN=tenant.test
AUTH0_MANAGEMENT_ID=fake-client-id AUTH0_MANAGEMENT_SECRET=fake-client-secret aai sync --now.
By hand it creates the five BioCommons access roles (biocommons/platform/{galaxy,
bpa_data_portal,sbp}, biocommons/group/{tsi,bpa_galaxy}) and gives each --role-members users.

In tests use the `fake_auth0` / `auth0_env` fixtures (tests/fakes/fixtures.py). For
benchmarks use `with spawned("--role-members", "20000", users=100_000) as server:` (the same
server in a child process, so its ~2 KB per user and its CPU stay out of the measured
process; `server.env()` gives the AUTH0_* variables, `server.stats()` the request counts
from GET /__fake__/stats). Endpoints:
POST /oauth/token (client credentials, JSON or form; 401 on a wrong secret, 403 on an
unknown audience); GET /.well-known/jwks.json, /.well-known/openid-configuration; under
/api/v2: users (list/search with the 1000-result cap, get/create/patch/delete), users-by-email,
roles, roles/{id}/users (checkpoint `take`/`from`/`next` and capped offset), users/{id}/roles,
jobs/users-exports, jobs/{id}, jobs/verification-email. Every /api/v2 response carries
x-ratelimit-limit/-remaining/-reset; a missing or invalid bearer token gets Auth0's 401 body.

Behaviour chosen where Auth0 documents nothing (AUTH0.md marks these unverified):
- users list: `total` is the true number of matches; the cap applies when
  page*per_page + per_page > 1000, whatever the number of matches (as for role members).
- checkpoint paging orders members by user_id; the last page has no `next`.
- GET/POST/DELETE /users/{id}/roles for a missing user: 404 inexistent_user; an unknown role
  id in a body: 404 "The role does not exist.".
- The database connection requires a username (`require_username`, as BioCommons' does).
- Export download: see tests/fakes/auth0_jobs.py (JSON only, no Authorization header).
- Without `rate_limit(...)` the headers say limit 1000 / remaining 1000 and nothing is refused.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt

from tests.fakes import auth0_roles_api as roles_api
from tests.fakes import auth0_users_api as users_api
from tests.fakes.auth0_http import ApiError, Request, Response, error_body
from tests.fakes.auth0_jobs import JobBook
from tests.fakes.auth0_keys import SigningKey, pooled_key, verify
from tests.fakes.auth0_store import TenantStore

ROLES_CLAIM = "https://biocommons.org.au/roles"
MANAGEMENT_SCOPE = (
    "read:users update:users delete:users create:users read:roles create:roles "
    "update:roles delete:roles read:role_members create:role_members delete:role_members"
)
BIOCOMMONS_ROLES = (
    "biocommons/platform/galaxy",
    "biocommons/platform/bpa_data_portal",
    "biocommons/platform/sbp",
    "biocommons/group/tsi",
    "biocommons/group/bpa_galaxy",
)


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int


class TokenBucket:
    """Auth0-style rate limit: `burst` tokens, refilled at `per_second`."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.rate = per_second
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.time()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = time.time()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            allowed = self.tokens >= 1
            if allowed:
                self.tokens -= 1
            missing = (self.burst - self.tokens) if allowed else (1 - self.tokens)
            reset = math.ceil(now + missing / self.rate)
            return allowed, {
                "x-ratelimit-limit": str(self.burst),
                "x-ratelimit-remaining": str(int(self.tokens)),
                "x-ratelimit-reset": str(reset),
            }


Handler = Callable[[Request], Response]


class FakeAuth0:
    """The local Auth0. `start()` (or `with FakeAuth0() as fake:`) serves it on an
    ephemeral port; the methods below change its state directly and are thread-safe."""

    def __init__(
        self,
        *,
        port: int = 0,
        domain: str = "tenant.test",
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        api_audience: str = "https://aai.test/api",
        seed: int = 0,
    ) -> None:
        self.domain = domain
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_audience = api_audience
        self.seed = seed
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()
        self.reset()

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeAuth0:
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAuth0:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeAuth0 is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/"

    @property
    def management_audiences(self) -> set[str]:
        return {f"https://{self.domain}/api/v2/", f"{self.url}/api/v2/"}

    def reset(self) -> None:
        """Empty tenant, default knobs, fresh request log (tokens already issued stay valid)."""
        self.store = TenantStore(self.seed)
        self.jobs = JobBook(self.store, os.urandom(16))
        self.jobs.tenant = self.domain.split(".")[0]
        self.requests: list[RequestRecord] = []
        self.rate_limited = 0
        self.latency_s = 0.0
        self.fail_fraction = 0.0
        self.token_expires_in = 86400
        self.require_username = True
        self._fail_rng = random.Random(self.seed)
        self._fail_plan: list[tuple[str, int]] = []
        self._bucket: TokenBucket | None = None
        self._keys = [pooled_key(0)]
        self._active_key = self._keys[0]
        self._key_count = 1
        self._valid_tokens: dict[str, float] = {}
        self._revoked: set[str] = set()
        self._log_lock = threading.Lock()

    # --- knobs ---------------------------------------------------------------------

    def rate_limit(self, per_second: float | None, burst: int | None = None) -> None:
        """Refuse /api/v2 requests over a token bucket with 429 (None: no limit)."""
        if per_second is None:
            self._bucket = None
        else:
            self._bucket = TokenBucket(per_second, burst or max(1, int(per_second)))

    def fail_next(self, n: int = 1, status: int = 503, *, path_prefix: str = "/api/v2/") -> None:
        """The next `n` requests under `path_prefix` fail with `status` (0: the connection is
        dropped without an answer)."""
        with self._log_lock:
            self._fail_plan.extend([(path_prefix, status)] * n)

    @property
    def export_pending_polls(self) -> int:
        return self.jobs.pending_polls

    @export_pending_polls.setter
    def export_pending_polls(self, value: int) -> None:
        self.jobs.pending_polls = value

    @property
    def export_delay_s(self) -> float:
        return self.jobs.delay_s

    @export_delay_s.setter
    def export_delay_s(self, value: float) -> None:
        self.jobs.delay_s = value

    @property
    def export_link_ttl_s(self) -> float:
        return self.jobs.link_ttl_s

    @export_link_ttl_s.setter
    def export_link_ttl_s(self, value: float) -> None:
        self.jobs.link_ttl_s = value

    @property
    def export_final_status(self) -> str:
        return self.jobs.final_status

    @export_final_status.setter
    def export_final_status(self, value: str) -> None:
        self.jobs.final_status = value

    @property
    def verification_emails(self) -> list[str]:
        """User ids a verification-email job was created for, in order."""
        return self.jobs.verification_emails

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def stats(self) -> dict[str, int]:
        """Counts for a process that cannot see this object (GET /__fake__/stats)."""
        with self._log_lock:
            api = sum(1 for r in self.requests if r.path.startswith("/api/v2/"))
            return {
                "requests": len(self.requests),
                "api_requests": api,
                "rate_limited": self.rate_limited,
                "users": len(self.store.users),
            }

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in list(self.requests)
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]

    # --- tenant state ----------------------------------------------------------------

    def add_user(self, **fields: Any) -> dict[str, Any]:
        """Add a user as Auth0 would hold it (defaults filled in; `connection` defaults to
        the database connection, `google-oauth2` makes a social user). No uniqueness checks:
        tests may build states the API would refuse."""
        store = self.store
        return dict(store.insert(store.build_user(fields)))

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        user = self.store.users.get(user_id)
        return dict(user) if user is not None else None

    def update_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """PATCH semantics (None removes a field); bumps updated_at unless given."""
        user = self.store.replace(user_id, fields)
        if user is None:
            raise KeyError(user_id)
        return dict(user)

    def delete_user(self, user_id: str) -> None:
        self.store.remove(user_id)

    @property
    def users(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(u) for u in self.store.users.values()]

    def add_role(self, name: str, description: str | None = None) -> dict[str, Any]:
        return dict(self.store.add_role(name, description))

    def role_id(self, name: str) -> str:
        role = self.store.role_by_name(name)
        if role is None:
            raise KeyError(name)
        return role["id"]

    def update_role(self, role_id: str, **fields: Any) -> dict[str, Any]:
        with self.store.lock:
            self.store.roles[role_id].update(fields)
            return dict(self.store.roles[role_id])

    def delete_role(self, role_id: str) -> None:
        self.store.delete_role(role_id)

    def assign_role(self, user_id: str, role_id: str) -> None:
        self.store.assign(user_id, [role_id])

    def remove_role(self, user_id: str, role_id: str) -> None:
        self.store.unassign(user_id, [role_id])

    def role_members(self, role_id: str) -> list[str]:
        return list(self.store.members_sorted(role_id))

    def user_roles(self, user_id: str) -> list[str]:
        """Names of the user's roles."""
        return [r["name"] for r in self.store.roles_of(user_id)]

    def generate_users(
        self, n: int, *, seed: int = 0, social_fraction: float = 0.1
    ) -> list[dict[str, Any]]:
        """`n` deterministic users (returns copies); social ones have no username."""
        users = self.store.generate_users(n, seed=seed, social_fraction=social_fraction)
        return [dict(u) for u in users]

    def generate_role_members(self, role_id: str, user_ids: list[str]) -> None:
        with self.store.lock:
            self.store.assign_many(role_id, user_ids)

    # --- tokens ----------------------------------------------------------------------

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
            return jwt.encode(claims, None, algorithm="none", headers=all_headers)
        return jwt.encode(claims, self.client_secret, algorithm=alg, headers=all_headers)

    def management_token(
        self, *, expires_in: int | None = None, audience: str | None = None
    ) -> str:
        """A Management API token as POST /oauth/token would return it."""
        now = int(time.time())
        claims = {
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
            with self._log_lock:
                self._valid_tokens[token] = float(claims["exp"])
        return token

    def invalidate_tokens(self) -> None:
        """Every Management API token issued so far gets 401 from now on (simulates expiry)."""
        with self._log_lock:
            self._revoked.update(self._valid_tokens)
            self._valid_tokens.clear()

    # --- request handling --------------------------------------------------------------

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        s = lambda fn: lambda req: fn(self.store, req)  # noqa: E731
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/api/v2/users", s(users_api.list_users)),
            (
                "POST",
                r"/api/v2/users",
                lambda r: users_api.create_user(
                    self.store, r, require_username=self.require_username
                ),
            ),
            ("GET", r"/api/v2/users-by-email", s(users_api.users_by_email)),
            ("GET", r"/api/v2/users/(?P<id>[^/]+)", s(users_api.get_user)),
            ("PATCH", r"/api/v2/users/(?P<id>[^/]+)", s(users_api.update_user)),
            ("DELETE", r"/api/v2/users/(?P<id>[^/]+)", s(users_api.delete_user)),
            ("GET", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.user_roles)),
            ("POST", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.assign_user_roles)),
            ("DELETE", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.remove_user_roles)),
            ("GET", r"/api/v2/roles", s(roles_api.list_roles)),
            ("GET", r"/api/v2/roles/(?P<id>[^/]+)", s(roles_api.get_role)),
            ("GET", r"/api/v2/roles/(?P<id>[^/]+)/users", s(roles_api.role_users)),
            ("POST", r"/api/v2/roles/(?P<id>[^/]+)/users", s(roles_api.assign_role_users)),
            ("POST", r"/api/v2/jobs/users-exports", lambda r: self.jobs.create_export(r)),
            (
                "POST",
                r"/api/v2/jobs/verification-email",
                lambda r: self.jobs.create_verification(r),
            ),
            ("GET", r"/api/v2/jobs/(?P<id>[^/]+)", lambda r: self.jobs.get(r, self.url)),
            ("POST", r"/oauth/token", self._token),
            ("GET", r"/\.well-known/jwks\.json", lambda r: Response(200, self.jwks())),
            ("GET", r"/\.well-known/openid-configuration", lambda r: Response(200, self._oidc())),
            ("GET", r"/__exports__/(?P<id>[^/]+)/[^/]+", lambda r: self.jobs.download(r)),
            ("GET", r"/__fake__/stats", lambda r: Response(200, self.stats())),
        ]
        return [(m, re.compile(f"^{p}$"), h) for m, p, h in table]

    def handle(self, req: Request) -> Response | None:
        """The whole pipeline for one request; None means: drop the connection."""
        if self.latency_s:
            time.sleep(self.latency_s)
        is_api = req.path.startswith("/api/v2/")
        headers: dict[str, str] = {}
        response: Response | None
        if is_api:
            allowed, headers = self._rate_headers()
            if not allowed:
                self.rate_limited += 1
                response = Response(
                    429, error_body(429, "Global limit has been reached", "too_many_requests")
                )
                return self._finish(req, response, headers)
        failure = self._planned_failure(req.path, is_api)
        if failure == 0:
            self._log(req, 0)
            return None
        if failure is not None:
            response = Response(failure, error_body(failure, "Service temporarily unavailable"))
            return self._finish(req, response, headers)
        try:
            if is_api:
                self._authenticate(req)
            response = self._route(req)
        except ApiError as exc:
            response = exc.response()
        except Exception:  # a bug in the fake: answer 500 and say why on stderr
            traceback.print_exc()
            response = Response(500, error_body(500, "Internal error of the local Auth0"))
        return self._finish(req, response, headers)

    def _finish(self, req: Request, response: Response, headers: dict[str, str]) -> Response:
        response.headers.update(headers)
        self._log(req, response.status)
        return response

    def _log(self, req: Request, status: int) -> None:
        with self._log_lock:
            self.requests.append(RequestRecord(req.method, req.path, status))

    def _rate_headers(self) -> tuple[bool, dict[str, str]]:
        if self._bucket is None:
            return True, {
                "x-ratelimit-limit": "1000",
                "x-ratelimit-remaining": "1000",
                "x-ratelimit-reset": str(int(time.time()) + 1),
            }
        return self._bucket.take()

    def _planned_failure(self, path: str, is_api: bool) -> int | None:
        with self._log_lock:
            for i, (prefix, status) in enumerate(self._fail_plan):
                if path.startswith(prefix):
                    del self._fail_plan[i]
                    return status
            if is_api and self.fail_fraction and self._fail_rng.random() < self.fail_fraction:
                return 503
        return None

    def _route(self, req: Request) -> Response:
        path_known = False
        for method, pattern, handler in self._routes:
            match = pattern.match(req.path)
            if match is None:
                continue
            path_known = True
            if method == req.method:
                req.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(req)
        if path_known:
            raise ApiError(405, "Method Not Allowed")
        raise ApiError(404, "Not Found")

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "Missing authentication", attributes={"error": "Missing authentication"}
            )
        token = token.strip()
        with self._log_lock:
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
            with self._log_lock:
                self._valid_tokens[token] = expiry
        if time.time() >= expiry:
            raise _unauthorized("Expired token received for JSON Web Token validation")

    def _token(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            body = {}
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

    def _oidc(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/oauth/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/.well-known/jwks.json",
            "response_types_supported": ["code", "token", "id_token", "code id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": [
                "aud",
                "email",
                "email_verified",
                "exp",
                "iat",
                "iss",
                "name",
                "sub",
            ],
        }


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, attributes={"error": message})


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fake-auth0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fake: FakeAuth0 = self.server.fake  # type: ignore[attr-defined]
        response = fake.handle(req)
        if response is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encoded()
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        headers = {"Date": self.date_time_string(), **response.headers}
        if response.status != 204:
            headers["Content-Type"] = response.content_type
            headers["Content-Length"] = str(len(payload))
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.auth0_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--social-fraction", type=float, default=0.1)
    parser.add_argument(
        "--role-members", type=int, default=None, help="members per role (default: users/5)"
    )
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.add_argument("--burst", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    parser.add_argument("--fail-fraction", type=float, default=0.0)
    parser.add_argument("--domain", default="tenant.test")
    parser.add_argument("--client-id", default="fake-client-id")
    parser.add_argument("--client-secret", default="fake-client-secret")
    args = parser.parse_args(argv)
    fake = FakeAuth0(
        port=args.port,
        domain=args.domain,
        client_id=args.client_id,
        client_secret=args.client_secret,
        seed=args.seed,
    )
    populate(
        fake,
        users=args.users,
        seed=args.seed,
        social_fraction=args.social_fraction,
        role_members=args.role_members,
    )
    fake.rate_limit(args.rate_limit, args.burst)
    fake.latency_s = args.latency
    fake.fail_fraction = args.fail_fraction
    fake.start()
    info = {
        "url": fake.url,
        "domain": fake.domain,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "audience": fake.api_audience,
        "issuer": fake.issuer,
        "users": args.users,
    }
    print(json.dumps(info), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


def populate(
    fake: FakeAuth0,
    *,
    users: int,
    seed: int = 0,
    social_fraction: float = 0.1,
    role_members: int | None = None,
    roles: tuple[str, ...] = BIOCOMMONS_ROLES,
) -> None:
    """Fill a tenant: `users` generated users and the given roles, each with `role_members`
    members (default users/len(roles)) picked deterministically (overlapping)."""
    generated = [
        u["user_id"]
        for u in fake.store.generate_users(users, seed=seed, social_fraction=social_fraction)
    ]
    per_role = len(generated) // max(1, len(roles)) if role_members is None else role_members
    rng = random.Random(seed)
    for name in roles:
        role = fake.add_role(name, f"Access role {name}")
        fake.generate_role_members(role["id"], rng.sample(generated, min(per_role, len(generated))))


class Spawned(NamedTuple):
    url: str
    domain: str
    client_id: str
    client_secret: str
    audience: str
    issuer: str
    process: subprocess.Popen

    def env(self) -> dict[str, str]:
        """The AUTH0_* variables pointing our settings at this server."""
        return {
            "AUTH0_DOMAIN": self.domain,
            "AUTH0_BASE_URL": self.url,
            "AUTH0_MANAGEMENT_ID": self.client_id,
            "AUTH0_MANAGEMENT_SECRET": self.client_secret,
            "AUTH0_AUDIENCE": self.audience,
            "AUTH0_ISSUER": self.issuer,
        }

    def stats(self) -> dict[str, int]:
        import httpx

        return httpx.get(f"{self.url}/__fake__/stats").json()


@contextlib.contextmanager
def spawned(*args: str, users: int = 1000, timeout_s: float = 600) -> Iterator[Spawned]:
    """The by-hand server in a child process (its memory and CPU stay out of the caller's
    measurements: use this for benchmarks). Extra `args` are CLI flags, e.g.
    `spawned("--role-members", "20000", users=100_000)`."""
    command = [sys.executable, "-m", "tests.fakes.auth0_server", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--users", str(users), *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = select.select([process.stdout], [], [], timeout_s)[0]
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the local Auth0 did not start")
        info = json.loads(line)
        yield Spawned(
            info["url"],
            info["domain"],
            info["client_id"],
            info["client_secret"],
            info["audience"],
            info["issuer"],
            process,
        )
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
