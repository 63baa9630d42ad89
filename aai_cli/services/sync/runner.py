"""The sync engine: one `run_sync()` behind `aai sync` and the scheduler.

Steps, each idempotent and safe to re-run after a crash: push pending role changes,
roles, users (full export or incremental search), memberships. A run holds the "sync"
lock (a second concurrent run raises `Busy`, exit 7) and is recorded in `sync_runs`.

Exception to "callers own the transaction": `run_sync` manages its own transactions and
commits per batch, so a crash loses at most one batch and the next run resumes from the
last committed watermark. A dry run writes nothing but its own `sync_runs` record: it
flushes into one transaction that is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from aai_cli import db
from aai_cli.errors import AaiError, CheckFailed, UsageError
from aai_cli.models import Platform, Role, SyncRun, SyncState, utcnow
from aai_cli.serialize import to_data
from aai_cli.services.access import role_outbox
from aai_cli.services.auth0.gateway import Auth0Gateway, Auth0User, MalformedRecord, get_gateway
from aai_cli.services.sync.memberships import MembershipCounts, MemberWalk, sync_memberships
from aai_cli.services.sync.users import (
    Progress,
    UserBatcher,
    UserCounts,
    get_watermark,
    set_watermark,
    sync_users_full,
    sync_users_incremental,
)
from aai_cli.settings import get_settings

Mode = Literal["auto", "full", "incremental"]
STEPS = ("roles", "users", "memberships")
LOCK_NAME = "sync"
WALK_KEY = "memberships.walked_at"
INTERRUPTED = "interrupted (the process stopped)"


@dataclass
class SyncReport:
    mode: str
    dry_run: bool
    steps: tuple[str, ...]
    status: str = "running"
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    users: UserCounts = field(default_factory=UserCounts)
    memberships: MembershipCounts = field(default_factory=MembershipCounts)
    roles: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("created", "updated", "deleted", "unchanged"), 0)
    )
    outbox: dict[str, int] = field(default_factory=dict)
    auth0_requests: int = 0
    rate_limited: int = 0
    error: str | None = None
    run_id: int | None = None

    @property
    def walk_members(self) -> bool:
        return self.memberships.walked

    @property
    def duration_s(self) -> float:
        end = self.finished_at or utcnow()
        return round((end - self.started_at).total_seconds(), 3)

    def counts(self) -> SyncCounts:
        return SyncCounts(
            users=self.users,
            memberships=self.memberships,
            roles=dict(self.roles),
            outbox=dict(self.outbox),
        )

    def summary(self) -> SyncSummary:
        reasons = list(self.users.skipped_reasons)
        own = [f.name for f in fields(SyncSummary) if f.name != "skipped_reasons"]
        return SyncSummary(**{name: getattr(self, name) for name in own}, skipped_reasons=reasons)


@dataclass(frozen=True)
class SyncCounts:
    """A run's counts, as `sync_runs.counts` and `job_runs.counts` keep them."""

    users: UserCounts
    memberships: MembershipCounts
    roles: dict[str, int]
    outbox: dict[str, int]


@dataclass(frozen=True)
class SyncSummary:
    """What `aai sync --json` shows of a report."""

    status: str
    mode: str
    dry_run: bool
    steps: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    users: UserCounts
    memberships: MembershipCounts
    roles: dict[str, int]
    outbox: dict[str, int]
    auth0_requests: int
    rate_limited: int
    duration_s: float
    skipped_reasons: list[str]
    error: str | None


def sync_roles(session: Session, gateway: Auth0Gateway, counts: dict[str, int]) -> None:
    """Mirror Auth0 roles: create, rename, soft-delete vanished ones (restore returners)."""
    remote = {role.id: role for role in gateway.list_roles()}
    local = {role.id: role for role in session.execute(select(Role)).scalars()}
    now = utcnow()
    for role in local.values():
        if role.id not in remote and role.deleted_at is None:
            role.deleted_at, role.synced_at = now, now
            counts["deleted"] += 1
    session.flush()
    for role_id, theirs in remote.items():
        ours = local.get(role_id)
        if ours is None:
            session.add(
                Role(
                    id=role_id,
                    name=theirs.name,
                    description=theirs.description,
                    created_at=now,
                    synced_at=now,
                )
            )
            counts["created"] += 1
        elif (ours.name, ours.description, ours.deleted_at) != (
            theirs.name,
            theirs.description,
            None,
        ):
            ours.name, ours.description = theirs.name, theirs.description
            ours.deleted_at, ours.synced_at = None, now
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    session.flush()


def push_pending(
    session: Session, gateway: Auth0Gateway, *, commit: Callable[[], None], rounds: int = 20
) -> dict:
    """Push due outbox rows so decisions reach Auth0 before reconciling."""
    totals: dict[str, int] = {}
    for _ in range(rounds):
        result = role_outbox.push_role_changes(session, gateway)
        commit()
        for key, value in result.items():
            totals[key] = totals.get(key, 0) + value
        if not result.get("attempted"):
            break
    return totals


def _resolve_mode(session: Session, mode: Mode) -> str:
    if mode == "auto":
        return "incremental" if get_watermark(session) else "full"
    return mode


def _run_steps(
    session: Session,
    gateway: Auth0Gateway,
    report: SyncReport,
    *,
    max_deletes: int,
    progress: Progress | None,
) -> None:
    def commit() -> None:
        if report.dry_run:
            session.flush()
        else:
            session.commit()

    if "memberships" in report.steps and not report.dry_run:
        report.outbox = push_pending(session, gateway, commit=commit)
    if "roles" in report.steps:
        sync_roles(session, gateway, report.roles)
        commit()
    walk: list[MemberWalk] = []

    walking = "memberships" in report.steps and report.walk_members

    def start_walk() -> None:  # role members are fetched while users are written
        if walking and not walk:
            walk.append(MemberWalk(session, gateway, report.memberships))

    def on_batch(step: str, done: int, total: int | None) -> None:
        start_walk()
        if progress:
            progress(step, done, total)

    try:
        batcher = UserBatcher(session, report.users, commit=commit, progress=on_batch)
        if "users" in report.steps:
            if report.mode == "full":
                watermark = sync_users_full(session, gateway, batcher, max_deletes=max_deletes)
            else:
                watermark = _incremental(session, gateway, batcher, report, max_deletes)
            if watermark is not None:
                set_watermark(session, watermark)
            commit()
        if walking:
            start_walk()
            batcher.before_commit = None
            sync_memberships(
                session,
                gateway,
                batcher,
                report.memberships,
                commit=commit,
                progress=progress,
                walk=walk[0],
            )
            _set_state(session, WALK_KEY, report.started_at.isoformat())
    finally:
        for started in walk:
            started.close()


def _walk_due(session: Session, *, every_minutes: int) -> bool:
    """Whether an incremental run should walk the role members.

    Role changes made directly in Auth0 do not move a user's `updated_at`, so only the walk
    (members/100 requests per access role: about 1,000 at 100k users) sees them. An
    incremental run walks at most every SYNC_MEMBERSHIPS_EVERY_MINUTES (0: every run),
    which keeps it to a handful of requests in between; full runs and
    `aai sync memberships` always walk.
    """
    if every_minutes == 0:
        return True
    state = session.get(SyncState, WALK_KEY)
    if state is None:
        return True
    walked_at = datetime.fromisoformat(state.value)
    return utcnow() - walked_at >= timedelta(minutes=every_minutes)


def _set_state(session: Session, key: str, value: str) -> None:
    state = session.get(SyncState, key) or SyncState(key=key, value=value)
    state.value, state.updated_at = value, utcnow()
    session.add(state)
    session.flush()


def _incremental(
    session: Session,
    gateway: Auth0Gateway,
    batcher: UserBatcher,
    report: SyncReport,
    max_deletes: int,
) -> datetime | None:
    """Search from the watermark; a malformed search page (the SDK rejects the whole page)
    falls back to the full export, which skips the bad record alone."""
    since = get_watermark(session)
    assert since is not None
    batcher.before_commit = lambda batch: _advance(session, batch)
    try:
        return sync_users_incremental(gateway, batcher, since=since)
    except MalformedRecord as exc:
        batcher.counts.skip(f"{exc}: ran a full sync instead")
        batcher.before_commit, report.mode = None, "full"
        return sync_users_full(session, gateway, batcher, max_deletes=max_deletes)


def _advance(session: Session, batch: list[Auth0User]) -> None:
    stamps = [u.updated_at for u in batch if u.updated_at]
    if stamps:
        set_watermark(session, max(stamps))


def run_sync(
    *,
    mode: Mode = "auto",
    steps: Sequence[str] = STEPS,
    dry_run: bool = False,
    max_deletes: int | None = None,
    job: str = "sync",
    progress: Progress | None = None,
    gateway: Auth0Gateway | None = None,
) -> SyncReport:
    """Run the sync steps once, now. Raises `Busy` (7) if a run holds the lock,
    `SafetyGuard` (8) when deletions exceed `max_deletes`, `Auth0Unavailable` (5),
    `CheckFailed` (3) when memberships are asked for and the catalog has no platforms."""
    settings = get_settings()
    gateway = gateway or get_gateway()
    limit = settings.sync_max_deletes if max_deletes is None else max_deletes
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise UsageError(f"unknown sync steps: {', '.join(sorted(unknown))}")
    with db.advisory_lock(LOCK_NAME, wait=False):
        with Session(db.write_engine(), expire_on_commit=False) as session:
            if "memberships" in steps:
                _require_catalog(session)
            resolved = _resolve_mode(session, mode) if "users" in steps else mode
            # only the combined incremental run defers the walk; `sync memberships` walks
            walk = (
                resolved != "incremental"
                or "users" not in steps
                or _walk_due(session, every_minutes=settings.sync_memberships_every_minutes)
            )
        report = SyncReport(
            mode=resolved,
            dry_run=dry_run,
            steps=tuple(steps),
            memberships=MembershipCounts(walked=walk),
        )
        report.run_id = _start_run(report, job)
        before = (gateway.requests_made, gateway.rate_limited)
        try:
            with Session(db.write_engine(), expire_on_commit=False) as session:
                try:
                    _run_steps(session, gateway, report, max_deletes=limit, progress=progress)
                    if dry_run:
                        session.rollback()
                    else:
                        session.commit()
                except BaseException:
                    session.rollback()
                    raise
            report.status = "succeeded"
        except AaiError as exc:
            report.status, report.error = "failed", str(exc)
            raise
        except BaseException as exc:
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            report.auth0_requests = gateway.requests_made - before[0]
            report.rate_limited = gateway.rate_limited - before[1]
            report.finished_at = utcnow()
            _finish_run(report)
        return report


def _require_catalog(session: Session) -> None:
    """Memberships are reconciled against the catalog: without platforms a run would
    report success and import nothing."""
    if session.execute(select(col(Platform.id)).limit(1)).first() is None:
        raise CheckFailed("no platforms in the catalog: run aai db seed")


def _start_run(report: SyncReport, job: str) -> int:
    """Record the run; any run still 'running' is a crashed one (we hold the lock)."""
    with db.session_scope() as session:
        session.execute(
            update(SyncRun)
            .where(col(SyncRun.status) == "running")
            .values(status="failed", error=INTERRUPTED, finished_at=utcnow())
        )
        run = SyncRun(
            job=job,
            mode=report.mode,
            dry_run=report.dry_run,
            status="running",
            started_at=report.started_at,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def _finish_run(report: SyncReport) -> None:
    with db.session_scope() as session:
        run = session.get(SyncRun, report.run_id)
        if run is None:
            return
        run.status, run.error, run.mode = report.status, report.error, report.mode
        run.finished_at, run.counts = report.finished_at, to_data(report.counts())
        run.auth0_requests, run.rate_limited = report.auth0_requests, report.rate_limited
        session.add(run)


@dataclass(frozen=True)
class RunSummary:
    """One recorded sync run, as `aai sync status` shows it."""

    id: int | None
    job: str
    mode: str | None
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    counts: dict[str, Any]
    auth0_requests: int
    rate_limited: int
    error: str | None

    @classmethod
    def of(cls, run: SyncRun) -> RunSummary:
        duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        kept = {f.name: getattr(run, f.name) for f in fields(cls) if f.name != "duration_s"}
        return cls(**kept, duration_s=round(duration, 3) if duration is not None else None)


@dataclass(frozen=True)
class SyncStatus:
    in_progress: bool
    watermark: datetime | None
    lag_s: float | None  # since the start of the last successful run
    last_success: RunSummary | None
    runs: list[RunSummary]


def sync_status(session: Session, *, limit: int = 10) -> SyncStatus:
    """Last runs, the watermark and its lag, and whether a run is in progress."""
    runs = list(
        session.execute(
            select(SyncRun)
            .order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
            .limit(limit)
        ).scalars()
    )
    last_ok = session.execute(
        select(SyncRun)
        .where(col(SyncRun.status) == "succeeded", col(SyncRun.dry_run).is_(False))
        .order_by(col(SyncRun.started_at).desc())
        .limit(1)
    ).scalar()
    watermark = get_watermark(session)
    engine = cast(Engine, session.get_bind())  # sessions are bound to an engine, not a connection
    url = engine.url.render_as_string(hide_password=False)
    now = utcnow()
    # lag: how stale the mirror may be (since the start of the last successful run)
    lag = (now - last_ok.started_at).total_seconds() if last_ok else None
    return SyncStatus(
        in_progress=db.is_lock_held(LOCK_NAME, url=url),
        watermark=watermark,
        lag_s=round(lag, 1) if lag is not None else None,
        last_success=RunSummary.of(last_ok) if last_ok else None,
        runs=[RunSummary.of(run) for run in runs],
    )


__all__ = ["STEPS", "SyncReport", "run_sync", "sync_roles", "sync_status"]
