"""Jobs of the local Auth0: user exports (gzipped NDJSON served from a pre-signed link on the
same server) and verification emails.

An export snapshots the tenant's users when it is created and writes its file in a
background thread; it reports `pending`, then `processing` for `pending_polls` polls (and
for at least `delay_s` seconds), then `completed` (the poll that completes it waits for
the file if it is still being written, so the sequence of statuses is deterministic)
with a `location` valid for `link_ttl_s` seconds (each poll of a completed job signs a fresh
link). The download refuses a request that carries an `Authorization` header (400, as an
S3-style store does when a second credential is sent), an expired link (403) and a bad
signature (403). JSON format only; `format: "csv"` (or no format, Auth0's default) is a 400.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aai_cli.localauth0.messages import ApiError, Request, Response, body_error
from aai_cli.localauth0.store import CONNECTIONS, TenantStore, iso

_JOB_ID = re.compile(r"^job_[A-Za-z0-9]{16}$")
_INDEXED = re.compile(r"^(\w+)\[(\d+)\]$")


@dataclass
class Job:
    public: dict[str, Any]
    created: float
    polls_left: int = 0
    payload: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: threading.Event = field(default_factory=threading.Event)

    def render(self, users: list[dict[str, Any]], fields: list[dict[str, str]] | None) -> None:
        try:
            self.payload = render_export(users, fields)
        finally:
            self.ready.set()


def _compile_path(name: str) -> list[tuple[str, int | None]]:
    steps: list[tuple[str, int | None]] = []
    for part in name.split("."):
        match = _INDEXED.match(part)
        steps.append((match.group(1), int(match.group(2))) if match else (part, None))
    return steps


def _path_value(user: dict[str, Any], steps: list[tuple[str, int | None]]) -> tuple[bool, Any]:
    current: Any = user
    for key, index in steps:
        if not isinstance(current, dict) or key not in current:
            return False, None
        current = current[key]
        if index is not None:
            if not isinstance(current, list) or index >= len(current):
                return False, None
            current = current[index]
    return True, current


def line_maker(
    fields: list[dict[str, str]] | None,
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function turning a user into its NDJSON object: the whole user, or the named
    fields (paths such as identities[0].connection allowed; missing ones left out)."""
    if not fields:
        return lambda user: user
    specs = [(f.get("export_as") or f["name"], f["name"], _compile_path(f["name"])) for f in fields]

    def make(user: dict[str, Any]) -> dict[str, Any]:
        line: dict[str, Any] = {}
        for out, name, steps in specs:
            if name in user:
                line[out] = user[name]
            elif len(steps) > 1 or steps[0][1] is not None:
                found, value = _path_value(user, steps)
                if found:
                    line[out] = value
        return line

    return make


class JobBook:
    def __init__(self, store: TenantStore, secret: bytes) -> None:
        self.store = store
        self.secret = secret
        self.jobs: dict[str, Job] = {}
        self.verification_emails: list[str] = []
        self.pending_polls = 1
        self.delay_s = 0.0
        self.link_ttl_s = 60.0
        self.final_status = "completed"
        self.tenant = "tenant"

    def create_export(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise body_error("Expected type object but found type array")
        fmt = body.get("format", "csv")
        if fmt not in {"json", "csv"}:
            raise body_error(f'No enum match for: "{fmt}"\' on property format')
        if fmt == "csv":
            raise ApiError(400, "The local Auth0 exports JSON only.", "operation_not_supported")
        fields = body.get("fields")
        if fields is not None and (
            not isinstance(fields, list)
            or not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields)
        ):
            raise body_error("Missing required property: name' on property fields")
        limit = body.get("limit")
        connection = None
        if body.get("connection_id"):
            connection = next(
                (n for n, c in CONNECTIONS.items() if c["id"] == body["connection_id"]), None
            )
            if connection is None:
                raise ApiError(404, "The connection does not exist.", "inexistent_connection")
        with self.store.lock:
            users = list(self.store.users.values())
            job_id = self.store.random_id("job_")
        if connection is not None:
            users = [u for u in users if self.store.connection_of(u) == connection]
        if isinstance(limit, int) and limit >= 1:
            users = users[:limit]
        public: dict[str, Any] = {"type": "users_export", "status": "pending"}
        if connection is not None:
            public["connection_id"] = body["connection_id"]
        public["format"] = fmt
        if limit is not None:
            public["limit"] = limit
        if fields is not None:
            public["fields"] = fields
        if connection is not None:
            public["connection"] = connection
        public.update({"created_at": iso(datetime.now(UTC)), "id": job_id})
        job = Job(public, time.monotonic(), self.pending_polls)
        self.jobs[job_id] = job
        threading.Thread(target=job.render, args=(users, fields), daemon=True).start()
        return Response(200, dict(public))

    def create_verification(self, req: Request) -> Response:
        body = req.json()
        user_id = body.get("user_id") if isinstance(body, dict) else None
        if not isinstance(user_id, str):
            raise body_error("Missing required property: user_id")
        user = self.store.users.get(user_id)
        if user is None:
            raise ApiError(404, "The user does not exist.", "inexistent_user")
        if not user.get("email") or self.store.is_social(user):
            raise ApiError(
                400, "The user does not have an email in a database connection.", "invalid_body"
            )
        job_id = self.store.random_id("job_")
        public = {
            "type": "verification_email",
            "status": "pending",
            "created_at": iso(datetime.now(UTC)),
            "id": job_id,
        }
        self.jobs[job_id] = Job(public, time.monotonic())
        self.verification_emails.append(user_id)
        return Response(201, dict(public))

    def get(self, req: Request, base_url: str) -> Response:
        job_id = req.params["id"]
        if not _JOB_ID.match(job_id):
            raise ApiError(
                400,
                "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$' "
                "on property id (The id of the job).",
                "invalid_uri",
            )
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "The job does not exist.", "inexistent_job")
        with job.lock:
            public = job.public
            if public["status"] in {"pending", "processing"}:
                is_export = public["type"] == "users_export"
                waiting = time.monotonic() - job.created < self.delay_s
                if job.polls_left > 0 or (waiting and is_export):
                    job.polls_left -= 1
                    return Response(200, {**public, "status": "processing", "percentage_done": 0})
                if is_export:
                    job.ready.wait()  # statuses stay deterministic: completed means written
                public["status"] = (
                    self.final_status if public["type"] == "users_export" else "completed"
                )
            body = dict(public)
            if public["status"] == "completed" and public["type"] == "users_export":
                body["location"] = self.sign_location(base_url, job_id)
        return Response(200, body)

    def _signature(self, job_id: str, expires: int) -> str:
        return hmac.new(self.secret, f"{job_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def sign_location(self, base_url: str, job_id: str) -> str:
        expires = int(time.time() + self.link_ttl_s)
        return (
            f"{base_url}/__exports__/{job_id}/{self.tenant}.json.gz"
            f"?Expires={expires}&Signature={self._signature(job_id, expires)}"
        )

    def download(self, req: Request) -> Response:
        if "authorization" in req.headers:
            return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        job = self.jobs.get(req.params["id"])
        try:
            expires = int(req.query.get("Expires", ""))
        except ValueError:
            return _s3_error(403, "AccessDenied", "Missing Expires")
        if job is None or not hmac.compare_digest(
            req.query.get("Signature", ""), self._signature(req.params["id"], expires)
        ):
            return _s3_error(403, "AccessDenied", "Signature does not match")
        if time.time() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        job.ready.wait()
        return Response(200, job.payload or b"", content_type="application/gzip")


def render_export(users: list[dict[str, Any]], fields: list[dict[str, str]] | None) -> bytes:
    """Gzipped NDJSON, compressed in chunks so memory stays near the compressed size."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    make = line_maker(fields)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as archive:
        for offset in range(0, len(users), 5000):
            chunk = users[offset : offset + 5000]
            archive.write(("\n".join(dumps(make(u)) for u in chunk) + "\n").encode())
    return out.getvalue()


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return Response(status, body, content_type="application/xml")
