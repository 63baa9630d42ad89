"""Account endpoints of the local Auth0: stored passwords (hashed), the resource-owner
password grant that checks one, password-change tickets, and revoking a user's sessions
and refresh tokens.

- Passwords given at creation or by PATCH are kept only as a salted PBKDF2 hash.
- POST /oauth/token with grant_type `password` or
  `http://auth0.com/oauth/grant-type/password-realm`: the client must authenticate
  (client_id + client_secret, else 401 access_denied); `username` is the user's username or
  email on the connection (`realm`, default the database connection); a wrong password or
  an unknown user is 403 `invalid_grant` "Wrong email or password." (Auth0's answer); a
  blocked user is 401 `unauthorized` "user is blocked". Success opens a session (and a
  refresh token when `offline_access` is asked for) and answers an access token.
- POST /api/v2/tickets/password-change: `user_id` (or `email` + `connection_id`), optional
  `result_url`, `ttl_sec`, `client_id`, `mark_email_as_verified`; 201 `{"ticket": url}`;
  404 for an unknown user, 400 for a social user or a body naming the user both ways.
- DELETE /api/v2/users/{id}/sessions and /refresh-tokens: 202, empty body (chosen: Auth0
  revokes asynchronously); 404 for an unknown user.
- POST /dbconnections/change_password (the Authentication API, no bearer token): `client_id`,
  `email`, `connection`; 200 with Auth0's text "We've just sent you an email to reset your
  password." whether or not the address has an account (Auth0 does not tell); an email is
  recorded (`password_change_emails`) only for a database user of that connection. Chosen
  where Auth0 documents no body: an unknown client or connection is 400
  `{"error": "invalid_request", "error_description": ...}`, a missing field 400 likewise.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from aai_cli.localauth0.messages import ApiError, Request, Response, body_error, user_not_found
from aai_cli.localauth0.store import CONNECTIONS, DB_CONNECTION, TenantStore

CHANGE_PASSWORD_SENT = "We've just sent you an email to reset your password."
PASSWORD_GRANTS = frozenset({"password", "http://auth0.com/oauth/grant-type/password-realm"})
_ITERATIONS = 1000  # a test double: strong enough to be a hash, cheap enough to be fast


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _, iterations, salt, digest = stored.split("$")
    computed = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), bytes.fromhex(salt), int(iterations)
    )
    return hmac.compare_digest(computed.hex(), digest)


@dataclass
class Accounts:
    """Per-user secrets and sessions of the tenant (thread-safe)."""

    store: TenantStore
    passwords: dict[str, str] = field(default_factory=dict)  # user_id -> hash
    sessions: dict[str, int] = field(default_factory=dict)
    refresh_tokens: dict[str, int] = field(default_factory=dict)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    revocations: list[tuple[str, str]] = field(default_factory=list)  # (what, user_id)
    # the applications of the tenant (client ids) the Authentication API knows
    clients: set[str] = field(default_factory=set)
    # password-change emails sent: {"user_id", "email", "client_id", "connection"}
    password_change_emails: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_password(self, user_id: str, password: str) -> None:
        hashed = hash_password(password)
        with self.lock:
            self.passwords[user_id] = hashed

    def open_session(self, user_id: str, *, refresh_token: bool) -> None:
        with self.lock:
            self.sessions[user_id] = self.sessions.get(user_id, 0) + 1
            if refresh_token:
                self.refresh_tokens[user_id] = self.refresh_tokens.get(user_id, 0) + 1

    # --- POST /oauth/token, password grants ------------------------------------------

    def password_grant(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """(status, OAuth body, user_id on success)."""
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return 400, _oauth("invalid_request", "Missing required parameter: username"), None
        realm = body.get("realm") or DB_CONNECTION
        if body.get("grant_type") != "password" and not body.get("realm"):
            return 400, _oauth("invalid_request", "Missing required parameter: realm"), None
        if realm not in CONNECTIONS or CONNECTIONS[realm]["social"]:
            return 403, _oauth("invalid_grant", "Wrong email or password."), None
        field_name = "email" if "@" in username else "username"
        with self.store.lock:
            users = [
                u
                for u in self.store.find(field_name, username)
                if self.store.connection_of(u) == realm
            ]
        user = users[0] if len(users) == 1 else None
        with self.lock:
            stored = self.passwords.get(user["user_id"]) if user else None
        if user is None or stored is None or not password_matches(password, stored):
            return 403, _oauth("invalid_grant", "Wrong email or password."), None
        if user.get("blocked"):
            return 401, _oauth("unauthorized", "user is blocked"), None
        scope = str(body.get("scope") or "")
        self.open_session(user["user_id"], refresh_token="offline_access" in scope.split())
        return 200, {}, user["user_id"]

    # --- Management API --------------------------------------------------------------

    def change_password_email(self, req: Request) -> Response:
        """POST /dbconnections/change_password: Auth0 emails a password-change link."""
        body = req.json()
        fields: dict[str, Any] = {
            k: body.get(k) if isinstance(body, dict) else None for k in _CHANGE_FIELDS
        }
        missing = [k for k, v in fields.items() if not isinstance(v, str) or not v]
        if missing:
            return _auth_error(f"missing {missing[0]}")
        if fields["client_id"] not in self.clients:
            return _auth_error("Client not found")
        if fields["connection"] not in CONNECTIONS or fields["connection"] != DB_CONNECTION:
            return _auth_error("connection not found or not a database connection")
        with self.store.lock:
            users = [
                u
                for u in self.store.find("email", fields["email"])
                if self.store.connection_of(u) == fields["connection"]
            ]
        with self.lock:
            for user in users:
                self.password_change_emails.append({"user_id": user["user_id"], **fields})
        return Response(200, CHANGE_PASSWORD_SENT)

    def create_ticket(self, req: Request, base_url: str) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise body_error("Expected type object but found type array")
        user_id, email = body.get("user_id"), body.get("email")
        if user_id is not None and (email is not None or body.get("connection_id")):
            raise ApiError(
                400, "user_id cannot be used together with email or connection_id", "invalid_body"
            )
        with self.store.lock:
            if user_id is not None:
                user = self.store.users.get(user_id)
            elif email is not None and body.get("connection_id"):
                matches = [
                    u
                    for u in self.store.find("email", email)
                    if CONNECTIONS.get(self.store.connection_of(u) or "", {}).get("id")
                    == body["connection_id"]
                ]
                user = matches[0] if matches else None
            else:
                raise body_error("Missing required property: user_id")
        if user is None:
            raise user_not_found()
        if self.store.is_social(user):
            raise ApiError(
                400, "The user does not have a password in a database connection.", "invalid_body"
            )
        ticket_id = self.store.random_id("", 32)
        ticket = {
            "user_id": user["user_id"],
            "result_url": body.get("result_url"),
            "ttl_sec": body.get("ttl_sec") or 432000,
            "client_id": body.get("client_id"),
            "mark_email_as_verified": bool(body.get("mark_email_as_verified")),
            "ticket": f"{base_url}/lo/reset?ticket={ticket_id}#",
        }
        with self.lock:
            self.tickets.append(ticket)
        return Response(201, {"ticket": ticket["ticket"]})

    def revoke(self, what: str, req: Request) -> Response:
        user_id = req.params["id"]
        if user_id not in self.store.users:
            raise user_not_found()
        book = self.sessions if what == "sessions" else self.refresh_tokens
        with self.lock:
            book.pop(user_id, None)
            self.revocations.append((what, user_id))
        return Response(202)


def _oauth(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


_CHANGE_FIELDS = ("client_id", "email", "connection")


def _auth_error(description: str) -> Response:
    """The Authentication API's error shape (not the Management API's)."""
    return Response(400, {"error": "invalid_request", "error_description": description})
