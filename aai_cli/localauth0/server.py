"""A local Auth0 for tests: a real HTTP server on 127.0.0.1 behaving as Auth0's documented
Management API does (see docs/auth0.md), so the real auth0-python SDK runs over the wire.

Run it by hand (prints one JSON line with url, client_id, client_secret, domain, audience):

    uv run python -m aai_cli.localauth0 --port 9000 --users 1000
    uv run python -m aai_cli.localauth0 --port 0 --users 100000 --role-members 20000 \
        --rate-limit 50 --burst 100

then point the CLI at it: AUTH0_BASE_URL=http://127.0.0.1:9000 AUTH0_DOMAIN=tenant.test
AUTH0_MANAGEMENT_ID=fake-client-id
AUTH0_MANAGEMENT_SECRET=fake-client-secret-of-the-local-tenant aai sync --now.
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
jobs/users-exports, jobs/{id}, jobs/verification-email, tickets/password-change,
users/{id}/sessions and users/{id}/refresh-tokens (DELETE); POST /dbconnections/change_password
(the Authentication API's password-change email); POST /oauth/token also takes the
resource-owner password grants (aai_cli/localauth0/accounts.py: passwords stored hashed).
Every /api/v2 response carries x-ratelimit-limit/-remaining/-reset; a missing or invalid
bearer token gets Auth0's 401 body.

Python-side state and knobs of LocalAuth0 (thread-safe): add_user/update_user/delete_user/
get_user/users, add_role/update_role/delete_role/role_id, assign_role/remove_role/
role_members/user_roles, generate_users(n, seed=, social_fraction=), generate_role_members;
mint_token(...) for the portal API (roles in https://biocommons.org.au/roles),
management_token(), rotate_key(), active_kid, invalidate_tokens(); rate_limit(per_second,
burst), latency_s, fail_fraction (seeded 503s), fail_next(n, status, path_prefix=) (status 0
drops the connection), hold(method, path_regex) (answers wait until released),
token_expires_in, export_pending_polls, export_delay_s, export_link_ttl_s,
export_final_status, require_username; requests / request_count / requests_to(prefix) /
rate_limited / verification_emails; sessions_of / refresh_tokens_of / open_session /
password_tickets / accounts.revocations; env() (the AUTH0_* variables pointing at it); reset().

Behaviour chosen where Auth0 documents nothing (docs/auth0.md lists these too):
- users list: `total` is the true number of matches; the cap applies when
  page*per_page + per_page > 1000, whatever the number of matches (as for role members).
- checkpoint paging orders members by user_id; the last page has no `next`.
- GET/POST/DELETE /users/{id}/roles for a missing user: 404 inexistent_user; an unknown role
  id in a body: 404 "The role does not exist.".
- The database connection requires a username (`require_username`, as BioCommons' does).
- Export download: see aai_cli/localauth0/jobs.py (JSON only, no Authorization header).
- Without `rate_limit(...)` the headers say limit 1000 / remaining 1000 and nothing is refused.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aai_cli.localauth0 import roles_api, users_api
from aai_cli.localauth0.accounts import Accounts
from aai_cli.localauth0.holds import HeldAnswer
from aai_cli.localauth0.jobs import JobBook
from aai_cli.localauth0.messages import ApiError, Request, Response, error_body
from aai_cli.localauth0.oidc import OidcProvider, cors_headers
from aai_cli.localauth0.runner import BIOCOMMONS_ROLES, auth0_variables, populate, spawned
from aai_cli.localauth0.serving import LocalServer
from aai_cli.localauth0.store import TenantStore
from aai_cli.localauth0.tokens import ROLES_CLAIM
from aai_cli.localauth0.wire import FakeHTTPServer, RequestRecord, TokenBucket, _Handler

__all__ = [
    "BIOCOMMONS_ROLES",
    "GALAXY_CLIENT_ID",
    "PORTAL_CLIENT_ID",
    "ROLES_CLAIM",
    "LocalAuth0",
    "RequestRecord",
    "populate",
    "spawned",
]

Handler = Callable[[Request], Response]
# applications of the local tenant besides the management client (login clients)
PORTAL_CLIENT_ID = "fake-portal-client"
GALAXY_CLIENT_ID = "fake-galaxy-client"


def _job_knob(name: str) -> Any:
    """A knob of the export jobs (`JobBook.<name>`), read and set on the fake itself."""
    return property(
        lambda fake: getattr(fake.jobs, name),
        lambda fake, value: setattr(fake.jobs, name, value),
    )


class LocalAuth0(LocalServer, OidcProvider):
    """The local Auth0. `start()` (or `with LocalAuth0() as fake:`) serves it on an
    ephemeral port; the methods below change its state directly and are thread-safe."""

    def __init__(
        self,
        *,
        port: int = 0,
        domain: str = "tenant.test",
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret-of-the-local-tenant",
        api_audience: str = "https://aai.test/api",
        seed: int = 0,
    ) -> None:
        self.domain = domain
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_audience = api_audience
        self.seed = seed
        self._port = port
        self._routes = self._build_routes()
        self.reset()

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> LocalAuth0:
        server = FakeHTTPServer(("127.0.0.1", self._port), _Handler)
        server.fake = self  # type: ignore[attr-defined]  # read by the request handler
        return self._serve(server, poll_interval=0.05)

    @property
    def url(self) -> str:
        return self.origin

    def env(self) -> dict[str, str]:
        """The AUTH0_* variables pointing our settings at this server."""
        return auth0_variables(
            self.domain,
            self.url,
            self.client_id,
            self.client_secret,
            self.api_audience,
            self.issuer,
        )

    def reset(self) -> None:
        """Empty tenant, default knobs, fresh request log (tokens already issued stay valid)."""
        self.store = TenantStore(self.seed)
        self.accounts = Accounts(self.store)
        self.accounts.clients = {self.client_id, PORTAL_CLIENT_ID, GALAXY_CLIENT_ID}
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
        self._reset_tokens()
        self._reset_oidc()
        self._log_lock = threading.Lock()
        for held in getattr(self, "_holds", []):
            held.release()
        self._holds: list[HeldAnswer] = []

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

    def hold(self, method: str, path: str, *, timeout_s: float = 60.0) -> HeldAnswer:
        """Requests of `method` whose path fully matches the regular expression `path` wait
        unanswered until the returned hold is released (aai_cli/localauth0/holds.py)."""
        held = HeldAnswer(method, path, timeout_s=timeout_s)
        with self._log_lock:
            self._holds.append(held)
        return held

    # the export job's knobs live on the job book
    export_pending_polls = _job_knob("pending_polls")
    export_delay_s = _job_knob("delay_s")
    export_link_ttl_s = _job_knob("link_ttl_s")
    export_final_status = _job_knob("final_status")

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
        the database connection, `google-oauth2` makes a social user; a `password` is kept
        hashed, for the password grant). No uniqueness checks: tests may build states the
        API would refuse."""
        store = self.store
        password = fields.get("password")
        user = dict(store.insert(store.build_user(fields)))
        if isinstance(password, str):
            self.accounts.set_password(user["user_id"], password)
        return user

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

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        s = lambda fn: lambda req: fn(self.store, req)  # noqa: E731
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/api/v2/users", s(users_api.list_users)),
            ("POST", r"/api/v2/users", self._create_user),
            ("GET", r"/api/v2/users-by-email", s(users_api.users_by_email)),
            ("GET", r"/api/v2/users/(?P<id>[^/]+)", s(users_api.get_user)),
            ("PATCH", r"/api/v2/users/(?P<id>[^/]+)", self._update_user),
            ("DELETE", r"/api/v2/users/(?P<id>[^/]+)", s(users_api.delete_user)),
            ("GET", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.user_roles)),
            ("POST", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.assign_user_roles)),
            ("DELETE", r"/api/v2/users/(?P<id>[^/]+)/roles", s(roles_api.remove_user_roles)),
            (
                "DELETE",
                r"/api/v2/users/(?P<id>[^/]+)/sessions",
                lambda r: self.accounts.revoke("sessions", r),
            ),
            (
                "DELETE",
                r"/api/v2/users/(?P<id>[^/]+)/refresh-tokens",
                lambda r: self.accounts.revoke("refresh_tokens", r),
            ),
            (
                "POST",
                r"/api/v2/tickets/password-change",
                lambda r: self.accounts.create_ticket(r, self.url),
            ),
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
            ("POST", r"/dbconnections/change_password", self.accounts_change_password),
            ("GET", r"/\.well-known/jwks\.json", lambda r: Response(200, self.jwks())),
            (
                "GET",
                r"/\.well-known/openid-configuration",
                lambda r: Response(200, self.discovery()),
            ),
            ("GET", r"/authorize", self.authorize_page),
            ("POST", r"/authorize", self.authorize_pick),
            ("GET", r"/userinfo", self.userinfo),
            ("POST", r"/userinfo", self.userinfo),
            ("GET", r"/v2/logout", self.logout),
            ("GET", r"/__exports__/(?P<id>[^/]+)/[^/]+", lambda r: self.jobs.download(r)),
            ("GET", r"/__fake__/stats", lambda r: Response(200, self.stats())),
        ]
        return [(m, re.compile(f"^{p}$"), h) for m, p, h in table]

    def _create_user(self, req: Request) -> Response:
        response = users_api.create_user(self.store, req, require_username=self.require_username)
        self.accounts.set_password(response.body["user_id"], req.json()["password"])
        return response

    def _update_user(self, req: Request) -> Response:
        response = users_api.update_user(self.store, req)
        password = req.json().get("password")
        if isinstance(password, str):
            self.accounts.set_password(req.params["id"], password)
        return response

    def accounts_change_password(self, req: Request) -> Response:
        return self.accounts.change_password_email(req)

    def _password_token(self, body: dict[str, Any]) -> Response:
        """The resource-owner password grants (aai_cli/localauth0/accounts.py)."""
        if (
            body.get("client_id") != self.client_id
            or body.get("client_secret") != self.client_secret
        ):
            return Response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        status, error, user_id = self.accounts.password_grant(body)
        if user_id is None:
            return Response(status, error)
        audience = body.get("audience") or self.api_audience
        token = self.user_token(user_id, audience=audience, scope=str(body.get("scope") or ""))
        return Response(
            200,
            {
                "access_token": token,
                "expires_in": 86400,
                "scope": str(body.get("scope") or "openid"),
                "token_type": "Bearer",
            },
        )

    # --- accounts (sessions, refresh tokens, tickets) --------------------------------

    def sessions_of(self, user_id: str) -> int:
        """Open sessions of the user (a successful password grant opens one)."""
        return self.accounts.sessions.get(user_id, 0)

    def refresh_tokens_of(self, user_id: str) -> int:
        return self.accounts.refresh_tokens.get(user_id, 0)

    def open_session(self, user_id: str, *, refresh_token: bool = True) -> None:
        self.accounts.open_session(user_id, refresh_token=refresh_token)

    @property
    def password_change_emails(self) -> list[dict[str, str]]:
        """Password-change emails Auth0 sent (user_id, email, client_id, connection)."""
        return list(self.accounts.password_change_emails)

    @property
    def password_tickets(self) -> list[dict[str, Any]]:
        """Password-change tickets created, in order (user_id, result_url, ttl_sec, ticket)."""
        return list(self.accounts.tickets)

    def handle(self, req: Request) -> Response | None:
        """The whole pipeline for one request; None means: drop the connection."""
        if self.latency_s:
            time.sleep(self.latency_s)
        for held in [h for h in self._holds if h.matches(req.method, req.path)]:
            held.wait_here()
        is_api = req.path.startswith("/api/v2/")
        headers: dict[str, str] = {} if is_api else cors_headers(req)
        if req.method == "OPTIONS" and not is_api:  # a browser's CORS preflight
            return self._finish(req, Response(204), headers)
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
