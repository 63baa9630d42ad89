"""`aai sync`: mirror Auth0 users, roles and role memberships into the database."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aai_cli.commands import JsonOpt

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from aai_cli.services.sync import Progress as ProgressCallback

app = typer.Typer(
    help="Mirror Auth0 (roles, users, memberships) into the database.",
    invoke_without_command=True,
    no_args_is_help=False,
)

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Compute and print the report; write nothing.")
]
FullOpt = Annotated[
    bool, typer.Option("--full", help="Read the whole tenant (export job) and detect deletions.")
]
MaxDeletesOpt = Annotated[
    int | None,
    typer.Option(
        "--max-deletes",
        min=0,
        envvar="SYNC_MAX_DELETES",
        help="Stop (exit 8, deleting nothing) above this many deletions.",
    ),
]


@app.callback()
def sync(
    ctx: typer.Context,
    now: Annotated[bool, typer.Option("--now", help="Run roles, users, memberships now.")] = False,
    full: FullOpt = False,
    dry_run: DryRunOpt = False,
    max_deletes: MaxDeletesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run `aai sync --now` for a whole sync, or one step (`users`, `roles`, `memberships`).

    Exit codes: 3 no platforms in the catalog (run `aai db seed`), 5 Auth0 or the
    database unavailable, 6 Auth0 not configured or its credentials refused, 7 another
    sync is running, 8 more deletions than --max-deletes.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not now:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    _run(("roles", "users", "memberships"), full, dry_run, max_deletes, as_json)


@app.command("users")
def users(
    full: FullOpt = False,
    dry_run: DryRunOpt = False,
    max_deletes: MaxDeletesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync users only (incremental when a watermark exists, unless --full)."""
    _run(("users",), full, dry_run, max_deletes, as_json)


@app.command("roles")
def roles(dry_run: DryRunOpt = False, as_json: JsonOpt = False) -> None:
    """Mirror Auth0 roles only."""
    _run(("roles",), False, dry_run, None, as_json)


@app.command("memberships")
def memberships(dry_run: DryRunOpt = False, as_json: JsonOpt = False) -> None:
    """Reconcile platform and group role members with memberships only."""
    _run(("memberships",), False, dry_run, None, as_json)


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Last runs, the watermark and its lag, and whether a run is in progress."""
    from aai_cli import console
    from aai_cli.db import session_scope
    from aai_cli.serialize import to_data
    from aai_cli.services.sync import sync_status

    with session_scope(readonly=True) as session:
        data = to_data(sync_status(session))
    if as_json:
        console.print_json(data)
        return
    console.info(
        f"in progress: {'yes' if data['in_progress'] else 'no'}; watermark: "
        f"{data['watermark'] or 'none (the next run is full)'}; "
        f"since the last successful run: {_secs(data['lag_s'])}"
    )
    console.print_table(
        ["id", "job", "mode", "status", "started", "duration", "requests", "429s", "error"],
        [
            [
                r["id"],
                r["job"],
                r["mode"] + (" (dry run)" if r["dry_run"] else ""),
                r["status"],
                r["started_at"][:19],
                _secs(r["duration_s"]),
                r["auth0_requests"],
                r["rate_limited"],
                r["error"] or "",
            ]
            for r in data["runs"]
        ],
        title="sync runs",
    )


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _run(
    steps: tuple[str, ...], full: bool, dry_run: bool, max_deletes: int | None, as_json: bool
) -> None:
    from aai_cli import console
    from aai_cli.serialize import to_data
    from aai_cli.services.sync import run_sync

    with _progress(enabled=not as_json) as progress:
        report = run_sync(
            mode="full" if full else "auto",
            steps=steps,
            dry_run=dry_run,
            max_deletes=max_deletes,
            progress=progress,
        )
    data = to_data(report.summary())
    if as_json:
        console.print_json(data)
        return
    _summary(data)


def _summary(data: dict[str, Any]) -> None:
    from aai_cli import console

    rows = []
    for section in ("roles", "users", "memberships", "outbox"):
        for key, value in data[section].items():
            if type(value) is int and (value or section != "outbox"):
                rows.append([section, key, value])
    title = f"sync {data['mode']}{' (dry run: nothing written)' if data['dry_run'] else ''}"
    console.print_table(["step", "outcome", "count"], rows, title=title)
    if data["memberships"].get("walked") is False:
        console.info(
            "role members not walked: the last walk is more recent than "
            "SYNC_MEMBERSHIPS_EVERY_MINUTES (`aai sync memberships` walks now)"
        )
    missing = data["memberships"].get("missing_roles")
    if missing:
        console.warn(f"access roles missing in Auth0: {', '.join(missing)}")
    console.success(
        f"sync {data['status']} in {data['duration_s']:.1f} s: "
        f"{data['auth0_requests']} Auth0 requests, {data['rate_limited']} rate-limited"
    )


class _PlainProgress:
    """Periodic plain lines on stderr when stderr is not a terminal."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s, self.last = every_s, 0.0

    def __call__(self, step: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s or (total is not None and done >= total):
            from aai_cli import console

            self.last = now
            console.info(f"{step}: {done}" + (f"/{total}" if total else ""))


class _progress:
    """A Rich progress display on a TTY, plain lines otherwise, nothing with --json."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.display: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressCallback | None:
        from aai_cli import console

        if not self.enabled:
            return None
        if not console.is_tty():
            return _PlainProgress()
        from rich.progress import Progress

        self.display = Progress(console=console.stderr_console(), transient=True)
        self.display.start()
        return self._update

    def _update(self, step: str, done: int, total: int | None) -> None:
        assert self.display is not None
        if step not in self.tasks:
            self.tasks[step] = self.display.add_task(step, total=total)
        self.display.update(self.tasks[step], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.stop()
