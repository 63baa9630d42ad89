"""The Auth0 gateway: typed calls to the Management API through auth0-python 6.x.

One gateway per process (`get_gateway()`), closed at exit. Every call goes through one
retry layer (429 waits until `x-ratelimit-reset`; 5xx, timeouts and dropped connections
back off; creates are retried only when the request provably never reached Auth0) and
one process-wide rate ceiling (`AUTH0_MAX_RPS`). SDK retries are off. Errors become
`AaiError`s: out of retries or unreachable -> `Auth0Unavailable` (exit 5), other 4xx ->
`Auth0Error`, a duplicate on create -> `Conflict`. Secrets never appear in messages.
"""

from __future__ import annotations

import atexit
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import httpx

from aai_cli.errors import AaiError, Auth0Error, Auth0Unavailable, Conflict, InvalidInput, NotFound
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.auth0.models import (
    Auth0Role,
    Auth0User,
    MalformedRecord,
    RoleMember,
    auth0_timestamp,
    dump,
    parse_export,
    to_user,
)
from aai_cli.services.auth0.transport import (
    RateLimiter,
    RetryPolicy,
    TokenProvider,
    TransientHttpError,
    call_with_retries,
    process_rate_limiter,
    rate_limit_wait,
)
from aai_cli.settings import Settings, get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 100
SEARCH_CAP = 1000
# PATCH fields Auth0 changes only when the connection is named with them.
CONNECTION_FIELDS = frozenset({"email", "email_verified", "username", "password"})
PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
# What the mirror stores (a smaller export parses faster); identities and metadata are
# read per user when needed.
EXPORT_FIELDS = ("user_id", *AUTH0_PROFILE_FIELDS)


class Auth0Gateway:
    """Typed Management API calls with retries, a rate ceiling and request counters."""

    export_timeout_s = 8 * 3600.0
    export_poll_max_s = 5.0
    role_cache_s = 300.0

    def __init__(self, settings: Settings, *, limiter: RateLimiter | None = None) -> None:
        from auth0.management import Auth0

        self.requests_made = 0
        self.rate_limited = 0
        self._counter_lock = threading.Lock()
        self._roles_by_name: dict[str, Auth0Role] | None = None
        self._roles_read_at = 0.0
        self._limiter = limiter or process_rate_limiter(settings.auth0_max_rps)
        self._connection = settings.auth0_db_connection
        self.policy = RetryPolicy()
        timeout = httpx.Timeout(
            settings.auth0_timeout_s, connect=min(10.0, settings.auth0_timeout_s)
        )
        self._http = httpx.Client(
            timeout=timeout,
            event_hooks={"request": [self._before_request], "response": [self._after_response]},
        )
        self._plain_http = httpx.Client(timeout=timeout, follow_redirects=True)
        root = self._root = settings.auth0_root
        domain = settings.auth0_domain or root.split("://", 1)[-1]
        secret = settings.auth0_management_secret
        self.token = TokenProvider(
            token_url=f"{root}/oauth/token",
            audience=f"https://{domain}/api/v2/",
            client_id=settings.auth0_management_id or "",
            client_secret=secret.get_secret_value() if secret else "",
            http=self._plain_http,
        )
        self._client = Auth0(
            base_url=f"{root}/api/v2",
            token=self.token,
            httpx_client=self._http,
            timeout=settings.auth0_timeout_s,
            max_retries=0,
        )

    # --- wire hooks and the retry layer ----------------------------------------------

    def _before_request(self, request: httpx.Request) -> None:
        self._limiter.acquire()

    def _after_response(self, response: httpx.Response) -> None:
        with self._counter_lock:
            self.requests_made += 1
            if response.status_code == 429:
                self.rate_limited += 1
        headers = response.headers
        if headers.get("x-ratelimit-remaining") == "0" or response.status_code == 429:
            reset = headers.get("x-ratelimit-reset")
            if reset and reset.isdigit():
                self._limiter.pause_until_epoch(float(reset))

    def _call(self, what: str, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        from auth0.management.core.api_error import ApiError
        from auth0.management.core.parse_error import ParsingError

        refreshed = [False]

        def classify(exc: BaseException) -> TransientHttpError | None:
            if isinstance(exc, TransientHttpError):
                return exc
            if isinstance(exc, ApiError):
                status = exc.status_code or 0
                if status == 429:
                    return TransientHttpError(
                        "HTTP 429", status_code=429, wait_s=rate_limit_wait(exc.headers)
                    )
                if status == 401 and not refreshed[0]:
                    refreshed[0] = True
                    self.token.invalidate()
                    return TransientHttpError("HTTP 401", status_code=401, wait_s=0.0)
                if idempotent and (status >= 500 or status == 408):
                    return TransientHttpError(f"HTTP {status}", status_code=status)
                return None
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
                return TransientHttpError(type(exc).__name__)
            if idempotent and isinstance(exc, httpx.TransportError):
                return TransientHttpError(type(exc).__name__)
            return None

        def give_up(last: TransientHttpError, attempts: int) -> Exception:
            return Auth0Unavailable(
                f"Auth0 unavailable: {what} failed after {attempts} attempts (last: {last})"
            )

        try:
            return call_with_retries(fn, classify=classify, policy=self.policy, on_give_up=give_up)
        except ApiError as exc:
            raise _api_error(what, exc) from None
        except ParsingError as exc:
            raise MalformedRecord(
                f"Auth0 sent a malformed record ({what})", status_code=exc.status_code or 200
            ) from None
        except httpx.TransportError as exc:
            raise Auth0Unavailable(
                f"Auth0 unavailable: {what} failed ({type(exc).__name__}); its outcome is unknown"
            ) from None

    # --- users -----------------------------------------------------------------------

    def get_user(self, user_id: str) -> Auth0User | None:
        try:
            user = self._call("get user", lambda: self._client.users.get(user_id))
        except Auth0Error as exc:
            if exc.status_code == 404:
                return None
            raise
        return to_user(user, "get user")

    def users_by_email(self, email: str) -> list[Auth0User]:
        users = self._call(
            "users by email", lambda: self._client.users.list_users_by_email(email=email)
        )
        return [to_user(u, "users by email") for u in users]

    def create_user(
        self,
        *,
        email: str,
        password: str,
        username: str | None = None,
        name: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        connection: str | None = None,
        app_metadata: dict[str, Any] | None = None,
        verify_email: bool = True,
    ) -> Auth0User:
        optional = {
            "username": username,
            "name": name,
            "given_name": given_name,
            "family_name": family_name,
            "app_metadata": app_metadata,
        }
        kwargs = {k: v for k, v in optional.items() if v is not None}
        try:
            user = self._call(
                "create user",
                lambda: self._client.users.create(
                    connection=connection or self._connection,
                    email=email,
                    password=password,
                    verify_email=verify_email,
                    **kwargs,
                ),
                idempotent=False,
            )
        except Auth0Error as exc:
            if exc.status_code == 409:
                raise Conflict(
                    "a user with this email or username already exists in Auth0"
                ) from None
            raise
        return to_user(user, "create user")

    def update_user(self, user_id: str, **fields: Any) -> Auth0User:
        """PATCH the user's root fields (None values are not sent); the database
        connection is named when email, email_verified, username or password change, as
        Auth0 asks. A PATCH is idempotent, so it is retried like a read. Unknown user ->
        NotFound; the value taken by another account -> `Auth0Conflict` naming the field;
        any other refusal of the body (a forbidden pair, a weak password) -> InvalidInput."""
        body = {k: v for k, v in fields.items() if v is not None}
        if CONNECTION_FIELDS & body.keys():
            body.setdefault("connection", self._connection)
        try:
            user = self._call("update user", lambda: self._client.users.update(user_id, **body))
        except Auth0Error as exc:
            raise _refusal(exc, user_id, body) from None
        return to_user(user, "update user")

    def block_user(self, user_id: str, *, blocked: bool = True) -> Auth0User:
        return self.update_user(user_id, blocked=blocked)

    def revoke_sessions(self, user_id: str) -> None:
        """End the user's sessions and delete their refresh tokens (both idempotent)."""
        try:
            self._call("revoke sessions", lambda: self._client.users.sessions.delete(user_id))
            self._call(
                "revoke refresh tokens",
                lambda: self._client.users.refresh_token.delete(user_id),
            )
        except Auth0Error as exc:
            if exc.status_code == 404:
                raise NotFound(f"no Auth0 user {user_id}") from None
            raise

    def create_password_change_ticket(
        self, user_id: str, *, result_url: str | None = None, ttl_sec: int | None = None
    ) -> str:
        """A one-use link where the user sets a new password (Auth0 sends nothing: the
        caller emails it). Not retried: each call makes a new ticket."""
        optional = {"result_url": result_url, "ttl_sec": ttl_sec}
        kwargs = {k: v for k, v in optional.items() if v is not None}
        try:
            ticket = self._call(
                "create password-change ticket",
                lambda: self._client.tickets.change_password(user_id=user_id, **kwargs),
                idempotent=False,
            )
        except Auth0Error as exc:
            if exc.status_code == 404:
                raise NotFound(f"no Auth0 user {user_id}") from None
            if exc.status_code == 400:
                raise InvalidInput("Password resets are not supported for this account.") from None
            raise
        return str(ticket.ticket)

    def check_password(self, username: str, password: str) -> bool:
        """Whether Auth0 accepts `password` for `username` on the database connection (the
        resource-owner password-realm grant with the management client's credentials;
        the client needs the Password grant type). Not retried (each try counts against
        the account's brute-force protection); the password is never logged."""
        token = self.token
        body = {
            "grant_type": PASSWORD_REALM_GRANT,
            "client_id": token.client_id,
            "client_secret": token.client_secret,
            "audience": token.audience,
            "username": username,
            "password": password,
            "realm": self._connection,
            "scope": "openid",
        }
        response = self._authentication_post(token.token_url, body, "password check")
        status = response.status_code
        if status == 200:
            return True
        error = _oauth_error(response)
        if status in (400, 403) and error == "invalid_grant":
            return False
        detail = f" {error}" if error else ""
        raise Auth0Error(
            f"Auth0 refused the password check: HTTP {status}{detail}",
            status_code=status,
            error_code=error,
        )

    def send_password_change_email(self, email: str, *, client_id: str) -> None:
        """Auth0 emails `email` a link to set a new password on the database connection,
        for the application `client_id` (the Authentication API's change_password; Auth0
        answers the same whether or not the address has an account). Not retried: each
        call sends an email."""
        body = {"client_id": client_id, "email": email, "connection": self._connection}
        url = f"{self._root}/dbconnections/change_password"
        response = self._authentication_post(url, body, "password-change email")
        status = response.status_code
        if status == 200:
            return
        description = _oauth_error(response, "error_description") or f"HTTP {status}"
        if status == 400:
            raise InvalidInput(f"Auth0 refused the password-change email: {description}")
        raise Auth0Error(
            f"Auth0 refused the password-change email: {description}", status_code=status
        )

    def _authentication_post(self, url: str, body: dict[str, Any], what: str) -> httpx.Response:
        """One Authentication API call, not retried: no answer, 429 or 5xx is
        Auth0Unavailable ("Auth0 unavailable: {what} failed (...)"); any other answer is
        the caller's to read."""
        try:
            response = self._plain_http.post(url, json=body)
        except httpx.TransportError as exc:
            raise Auth0Unavailable(
                f"Auth0 unavailable: {what} failed ({type(exc).__name__})"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise Auth0Unavailable(f"Auth0 unavailable: {what} failed (HTTP {status})")
        return response

    def search_users_updated_since(self, since: datetime) -> Iterator[Auth0User]:
        """Users whose `updated_at` >= `since`, ascending, past the 1000-result cap: each
        window pages up to the cap, then the next starts at the last `updated_at` seen
        (users at that instant come again; callers de-duplicate)."""
        lower, inclusive = since, True
        while True:
            last: datetime | None = None
            for page in range(SEARCH_CAP // PAGE_SIZE):
                query = f"updated_at:{'[' if inclusive else '{'}{auth0_timestamp(lower)} TO *]"
                items = self._search_page(query, page)
                for item in items:
                    user = to_user(item, "search users")
                    last = user.updated_at or last
                    yield user
                if len(items) < PAGE_SIZE:
                    return
            if last is None:
                return
            if last <= lower:
                log.warning("more than %d users share updated_at %s", SEARCH_CAP, lower)
                inclusive = False
            else:
                lower, inclusive = last, True

    def _search_page(self, query: str, page: int) -> list[Any]:
        pager = self._call(
            "search users",
            lambda: self._client.users.list(
                q=query,
                sort="updated_at:1",
                page=page,
                per_page=PAGE_SIZE,
                include_totals=True,
                search_engine="v3",
            ),
        )
        return list(pager.items or [])

    # --- roles -----------------------------------------------------------------------

    def list_roles(self) -> list[Auth0Role]:
        roles: list[Auth0Role] = []
        page = 0
        while True:
            pager = self._call(
                "list roles",
                partial(
                    self._client.roles.list, page=page, per_page=PAGE_SIZE, include_totals=True
                ),
            )
            items = list(pager.items or [])
            roles += [Auth0Role.model_validate(dump(r)) for r in items]
            total = getattr(pager.response, "total", None)
            if len(items) < PAGE_SIZE or (total is not None and len(roles) >= total):
                break
            page += 1
        self._roles_by_name = {r.name: r for r in roles}
        self._roles_read_at = time.monotonic()
        return roles

    def role_by_name(self, name: str) -> Auth0Role | None:
        """Cached per gateway for `role_cache_s`; an unknown name re-reads the roles."""
        stale = time.monotonic() - self._roles_read_at > self.role_cache_s
        if self._roles_by_name is None or stale or name not in self._roles_by_name:
            self.list_roles()
        assert self._roles_by_name is not None
        return self._roles_by_name.get(name)

    def iter_role_members(self, role_id: str) -> Iterator[RoleMember]:
        """Every member of a role through checkpoint paging (never offset paging)."""
        cursor: str | None = None
        while True:
            pager = self._call(
                "list role members",
                partial(self._client.roles.users.list, role_id, from_=cursor, take=PAGE_SIZE),
            )
            for item in pager.items or []:
                yield RoleMember(
                    user_id=item.user_id, email=item.email, name=item.name, picture=item.picture
                )
            cursor = getattr(pager.response, "next", None)
            if not cursor:
                return

    def assign_roles(self, user_id: str, role_ids: list[str]) -> None:
        self._call("assign roles", lambda: self._client.users.roles.assign(user_id, roles=role_ids))

    def remove_roles(self, user_id: str, role_ids: list[str]) -> None:
        self._call("remove roles", lambda: self._client.users.roles.delete(user_id, roles=role_ids))

    # --- jobs ------------------------------------------------------------------------

    def send_verification_email(self, user_id: str) -> str:
        job = self._call(
            "send verification email",
            lambda: self._client.jobs.verification_email.create(user_id=user_id),
            idempotent=False,
        )
        return job.id

    def export_users(self, *, on_skip: Callable[[str], None] | None = None) -> Iterator[Auth0User]:
        """The whole tenant through an export job (gzipped NDJSON), streamed to a temp file
        and parsed line by line. Malformed lines are reported to `on_skip`, never raised."""
        from auth0.management.types import CreateExportUsersFields

        fields = [CreateExportUsersFields(name=f) for f in EXPORT_FIELDS]
        job = self._call(
            "start user export",
            lambda: self._client.jobs.users_exports.create(format="json", fields=fields),
        )
        path = self._download_export(job.id)
        try:
            yield from parse_export(path, on_skip)
        finally:
            os.unlink(path)

    def _wait_for_export(self, job_id: str) -> str:
        deadline = time.monotonic() + self.export_timeout_s
        delay = 0.1
        while True:
            job = self._call("poll export job", lambda: self._client.jobs.get(job_id))
            if job.status == "completed" and job.location:
                return job.location
            if job.status == "failed":
                raise Auth0Unavailable(f"Auth0 export job {job_id} failed")
            if time.monotonic() > deadline:
                raise Auth0Unavailable(f"Auth0 export job {job_id} did not finish in time")
            time.sleep(delay)
            delay = min(delay * 1.5, self.export_poll_max_s)

    def _download_export(self, job_id: str) -> str:
        """Download the export to a temp file; an expired or failed link is refreshed by
        reading the job again (pre-signed URLs live 60 s)."""
        last_error = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            location = self._wait_for_export(job_id)
            fd, path = tempfile.mkstemp(prefix="aai-export-", suffix=".json.gz")
            try:
                with os.fdopen(fd, "wb") as out, self._plain_http.stream("GET", location) as resp:
                    if resp.status_code == 200:
                        for chunk in resp.iter_bytes(1 << 16):
                            out.write(chunk)
                        return path
                    last_error = f"HTTP {resp.status_code}"
            except httpx.TransportError as exc:
                last_error = type(exc).__name__
            os.unlink(path)
            time.sleep(self.policy.backoff(attempt))
        raise Auth0Unavailable(f"Auth0 unavailable: export download failed ({last_error})")

    def close(self) -> None:
        self._http.close()
        self._plain_http.close()


class Auth0Conflict(Conflict):
    """Auth0 holds the value for another account; `field` names it (email, username)."""

    def __init__(self, message: str, *, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def _refusal(exc: Auth0Error, user_id: str, body: dict[str, Any]) -> AaiError:
    """An update refused by Auth0, as the error a caller can act on."""
    if exc.status_code == 404:
        return NotFound(f"no Auth0 user {user_id}")
    text = str(exc)
    taken = exc.status_code == 409 or "already exists" in text or "in use" in text
    if taken and exc.status_code in (400, 409):
        field = next((f for f in ("email", "username") if f in body and f in text), None)
        if field is None:
            field = next((f for f in ("email", "username") if f in body), None)
        what = field or "value"
        return Auth0Conflict(f"the {what} is already used by another account", field=field)
    if exc.status_code == 400:
        return InvalidInput(text)
    return exc


def _oauth_error(response: httpx.Response, key: str = "error") -> str | None:
    """`error` (or another key) of an Authentication API error body, when it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get(key) if isinstance(body, dict) else None
    return value[:200] if isinstance(value, str) else None


def _api_error(what: str, exc: Any) -> Exception:
    status = exc.status_code or 0
    body = exc.body if isinstance(exc.body, dict) else {}
    code = body.get("errorCode")
    message = str(body.get("message") or body.get("error") or "")[:200]
    if status == 429 or status >= 500:
        return Auth0Unavailable(f"Auth0 unavailable: {what} failed (HTTP {status})")
    detail = f" {code}" if code else ""
    text = f"Auth0 refused {what}: HTTP {status}{detail}" + (f": {message}" if message else "")
    return Auth0Error(text, status_code=status, error_code=code)


_gateway: Auth0Gateway | None = None
_gateway_key: tuple | None = None
_gateway_lock = threading.Lock()


def _settings_key(settings: Settings) -> tuple:
    secret = settings.auth0_management_secret
    return (
        settings.auth0_root,
        settings.auth0_domain,
        settings.auth0_management_id,
        hash(secret.get_secret_value()) if secret else None,
        settings.auth0_max_rps,
        settings.auth0_timeout_s,
    )


def get_gateway() -> Auth0Gateway:
    """The process's gateway (rebuilt if the Auth0 settings changed); exit 6 naming the
    missing variables when Auth0 is not configured."""
    global _gateway, _gateway_key
    settings = get_settings()
    settings.require_auth0_management()
    key = _settings_key(settings)
    with _gateway_lock:
        if _gateway is None or _gateway_key != key:
            if _gateway is not None:
                _gateway.close()
            _gateway, _gateway_key = Auth0Gateway(settings), key
        return _gateway


def close_gateway() -> None:
    global _gateway, _gateway_key
    with _gateway_lock:
        if _gateway is not None:
            _gateway.close()
        _gateway, _gateway_key = None, None


atexit.register(close_gateway)

__all__ = [
    "Auth0Conflict",
    "Auth0Gateway",
    "Auth0Role",
    "Auth0User",
    "MalformedRecord",
    "RoleMember",
    "auth0_timestamp",
    "close_gateway",
    "get_gateway",
]
