"""The users step of the sync: mirror Auth0 identities into `users` in batches.

*full*: the export job, streamed, upserted in batches; users absent from the export are
deletion candidates, each confirmed by a direct lookup (404) before being soft-deleted,
all or none (`SafetyGuard` above `max_deletes`).
*incremental*: `updated_at` search from the watermark (minus an overlap), the watermark
advanced in the same transaction as each committed batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from aai_cli.errors import SafetyGuard
from aai_cli.models import (
    SYNC_ACTOR,
    IdentityEvent,
    SyncState,
    User,
    identity_event_row,
    table_of,
    utcnow,
)
from aai_cli.services.auth0.gateway import Auth0Gateway, Auth0User, MalformedRecord
from aai_cli.services.auth0.mirror import upsert_rows, user_row
from aai_cli.services.bulk import bulk_write, db_timestamp, is_sqlite, select_in

BATCH_SIZE = 5000
WATERMARK_KEY = "users.updated_at"
INCREMENTAL_OVERLAP = timedelta(minutes=5)
# Users missing from the export but found by a direct lookup: past this many the export
# is not trusted (it looks truncated) and nothing is deleted.
MAX_MISSING_BUT_PRESENT = 100

Progress = Callable[[str, int, int | None], None]


@dataclass
class UserCounts:
    created: int = 0
    updated: int = 0
    restored: int = 0
    deleted: int = 0
    blocked: int = 0
    unchanged: int = 0
    skipped: int = 0
    collisions: int = 0

    def __post_init__(self) -> None:
        # the first skips' reasons: shown once by the report, not a count (not a field)
        self.skipped_reasons: list[str] = []

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_reasons) < 20:
            self.skipped_reasons.append(reason)


def get_watermark(session: Session) -> datetime | None:
    state = session.get(SyncState, WATERMARK_KEY)
    return datetime.fromisoformat(state.value) if state else None


def set_watermark(session: Session, value: datetime) -> None:
    state = session.get(SyncState, WATERMARK_KEY)
    if state is None:
        state = SyncState(key=WATERMARK_KEY, value=value.isoformat(), updated_at=utcnow())
    elif datetime.fromisoformat(state.value) >= value:
        return
    state.value, state.updated_at = value.isoformat(), utcnow()
    session.add(state)
    session.flush()


class UserBatcher:
    """Buffers Auth0 users and writes them a batch at a time, committing per batch."""

    def __init__(
        self,
        session: Session,
        counts: UserCounts,
        *,
        commit: Callable[[], None],
        before_commit: Callable[[list[Auth0User]], None] | None = None,
        progress: Progress | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.session, self.counts, self.commit = session, counts, commit
        self.before_commit, self.progress = before_commit, progress
        self.batch_size = batch_size or BATCH_SIZE
        self.buffer: dict[str, Auth0User] = {}
        self.seen = 0

    def add(self, user: Auth0User) -> None:
        self.buffer[user.user_id] = user
        self.seen += 1
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        batch, self.buffer = list(self.buffer.values()), {}
        changed = self._changed(batch)
        now = utcnow()
        rows = [user_row(u, now) for u in changed]
        self._free_usernames(rows)
        self._write(rows)
        if self.before_commit:
            self.before_commit(batch)
        self.commit()
        if self.progress:
            self.progress("users", self.seen, None)

    def _changed(self, batch: list[Auth0User]) -> list[Auth0User]:
        sqlite = is_sqlite(self.session)
        existing = {
            row[0]: row[1:]
            for row in select_in(
                self.session,
                "SELECT id, updated_at, deleted_at IS NOT NULL, blocked, username, email, name "
                "FROM users",
                "id",
                [u.user_id for u in batch],
            )
        }
        changed = []
        events: list[dict] = []
        for user in batch:
            row = existing.get(user.user_id)
            stamp = db_timestamp(user.updated_at, sqlite=sqlite)
            if row is None:
                self.counts.created += 1
            elif row[1] and user.blocked:  # deleted here, blocked in Auth0: stays deleted
                self.counts.unchanged += 1
                continue
            elif row[1]:
                self.counts.restored += 1
                events.append(
                    identity_event_row(user.user_id, "restored", SYNC_ACTOR, reason="live in Auth0")
                )
            elif stamp is not None and row[0] is not None and stamp <= row[0]:
                # the same record, or an older one than a change made here since
                self.counts.unchanged += 1
                continue
            else:
                self.counts.updated += 1
            if user.blocked and (row is None or not row[2]):
                self.counts.blocked += 1
            if row is not None:
                events += _identity_changes(row, user)
            changed.append(user)
        bulk_write(self.session, table_of(IdentityEvent), events)
        return changed

    def _free_usernames(self, rows: list[dict]) -> None:
        """Auth0 is the truth: a username now held by another live row is taken from it
        (that row gets its own current username when its record is synced)."""
        claims: dict[str, str] = {}
        for row in rows:
            name = row["username"]
            if name is None:
                continue
            if name in claims:  # two Auth0 identities (connections) with one username
                row["username"] = None
                self.counts.collisions += 1
                continue
            claims[name] = row["id"]
        if not claims:
            return
        holders = select_in(
            self.session,
            "SELECT id, username FROM users WHERE deleted_at IS NULL AND",
            "username",
            list(claims),
        )
        taken = [uid for uid, name in holders if claims.get(name) != uid]
        if taken:
            self.counts.collisions += len(taken)
            self.session.execute(update(User).where(col(User.id).in_(taken)).values(username=None))

    def _write(self, rows: list[dict]) -> None:
        try:
            with self.session.begin_nested():
                upsert_rows(self.session, rows)
        except IntegrityError:
            for row in rows:  # find the bad rows; the others still land
                try:
                    with self.session.begin_nested():
                        upsert_rows(self.session, [row])
                except IntegrityError as exc:
                    self.counts.skip(f"{row['id']}: {type(exc.orig).__name__}")


def sync_users_full(
    session: Session,
    gateway: Auth0Gateway,
    batcher: UserBatcher,
    *,
    max_deletes: int,
) -> datetime | None:
    """Export, upsert, confirm and apply deletions. Returns the new watermark."""
    seen: set[str] = set()
    watermark: datetime | None = None
    for user in gateway.export_users(on_skip=batcher.counts.skip):
        seen.add(user.user_id)
        if user.updated_at and (watermark is None or user.updated_at > watermark):
            watermark = user.updated_at
        batcher.add(user)
    batcher.flush()
    candidates = [
        uid
        for uid in session.execute(
            select(col(User.id)).where(col(User.deleted_at).is_(None))
        ).scalars()
    ]
    confirmed = _confirm_deletions(
        gateway, batcher, (c for c in candidates if c not in seen), max_deletes
    )
    batcher.flush()
    _soft_delete(session, confirmed)
    batcher.counts.deleted += len(confirmed)
    batcher.commit()
    return watermark


def _confirm_deletions(
    gateway: Auth0Gateway, batcher: UserBatcher, candidates: Iterable[str], max_deletes: int
) -> list[str]:
    confirmed: list[str] = []
    present = 0
    for user_id in candidates:
        try:
            user = gateway.get_user(user_id)
        except MalformedRecord:
            batcher.counts.skip(f"{user_id}: malformed in Auth0")
            continue
        if user is not None:
            present += 1
            if present > MAX_MISSING_BUT_PRESENT:
                raise SafetyGuard(
                    f"the Auth0 export looks incomplete: more than {MAX_MISSING_BUT_PRESENT} "
                    "users missing from it still exist; nothing was deleted"
                )
            batcher.add(user)
            continue
        confirmed.append(user_id)
        if len(confirmed) > max_deletes:
            raise SafetyGuard(
                f"more than {max_deletes} users were deleted in Auth0 (--max-deletes / "
                "SYNC_MAX_DELETES): nothing was deleted; check Auth0, then rerun with a "
                "higher --max-deletes"
            )
    return confirmed


def _soft_delete(session: Session, user_ids: list[str]) -> None:
    now = utcnow()
    for start in range(0, len(user_ids), BATCH_SIZE):
        chunk = user_ids[start : start + BATCH_SIZE]
        session.execute(update(User).where(col(User.id).in_(chunk)).values(deleted_at=now))
        events = [
            identity_event_row(uid, "deleted", SYNC_ACTOR, reason="deleted in Auth0")
            for uid in chunk
        ]
        bulk_write(session, table_of(IdentityEvent), events)


def _identity_changes(row: tuple, user: Auth0User) -> list[dict]:
    """History rows for what Auth0 changed on a known user: (updated_at, deleted,
    blocked, username, email, name) as stored, against the record."""
    _, _, blocked, username, email, name = row
    events = [
        identity_event_row(
            user.user_id, kind, SYNC_ACTOR, old_value=old, new_value=new, reason="changed in Auth0"
        )
        for kind, old, new in (
            ("username", username, user.username),
            ("email", email, user.email),
            ("name", name, user.name),
        )
        if old != new
    ]
    if bool(blocked) != user.blocked:
        events.append(
            identity_event_row(user.user_id, "blocked" if user.blocked else "unblocked", SYNC_ACTOR)
        )
    return events


def sync_users_incremental(
    gateway: Auth0Gateway, batcher: UserBatcher, *, since: datetime
) -> datetime | None:
    """Users changed since `since` (minus an overlap); returns the highest `updated_at`."""
    seen: set[tuple[str, datetime | None]] = set()
    watermark: datetime | None = None
    for user in gateway.search_users_updated_since(since - INCREMENTAL_OVERLAP):
        key = (user.user_id, user.updated_at)
        if key in seen:
            continue
        seen.add(key)
        if user.updated_at and (watermark is None or user.updated_at > watermark):
            watermark = user.updated_at
        batcher.add(user)
    batcher.flush()
    return watermark
