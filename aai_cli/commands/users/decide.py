"""`aai users approve|reject|revoke|unrevoke|unreject|request` and `aai users import`:
decisions through the membership service, then the Auth0 outbox pushed after commit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aai_cli.commands import ActorOpt, default_actor
from aai_cli.commands import interactive as _interactive

if TYPE_CHECKING:
    from aai_cli.services.access.memberships import Action

CONFIRM = frozenset({"reject", "revoke"})
QUEUED = "Auth0 role change queued; will be pushed by the scheduler or the next sync"
HELP = {
    "approve": "Approve a request, give revoked access back, or grant access directly.",
    "reject": "Reject a pending request (needs --reason).",
    "revoke": "Revoke approved access (needs --reason).",
    "unrevoke": "Give revoked access back (the same as approve).",
    "unreject": "Put a rejected request back to pending.",
    "request": "Record a request on the user's behalf.",
}

PlatformOpt = Annotated[str | None, typer.Option("--platform", "-p", help="Platform id.")]
GroupOpt = Annotated[
    str | None, typer.Option("--group", "-g", help="Group id, its last part, or short name.")
]


def decision(action: Action) -> Callable[..., None]:
    """The command function for one action of the membership state machine."""

    def command(
        user: Annotated[str, typer.Argument(help="Auth0 id, email or username.")],
        platform: PlatformOpt = None,
        group: GroupOpt = None,
        reason: Annotated[str | None, typer.Option(help="Why (required to reject/revoke).")] = None,
        actor: ActorOpt = None,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
        ] = False,
    ) -> None:
        decide(action, user, platform=platform, group=group, reason=reason, actor=actor, yes=yes)

    command.__doc__ = HELP[action]
    command.__name__ = action
    return command


def decide(
    action: Action,
    user: str,
    *,
    platform: str | None,
    group: str | None,
    reason: str | None,
    actor: str | None,
    yes: bool,
) -> None:
    from aai_cli import console
    from aai_cli.db import session_scope
    from aai_cli.services import directory
    from aai_cli.services.access import memberships

    with session_scope() as session:
        found = directory.resolve_user(session, user)
        target = directory.resolve_target(session, platform=platform, group=group)
        if action in CONFIRM and not yes and _interactive():
            typer.confirm(f"{action} {found.id} ({found.email}) for {target}?", abort=True)
        result = memberships.transition(
            session, user_id=found.id, target=target, action=action,
            actor=actor or default_actor(), reason=reason,
            reasons_required=memberships.OPERATOR_REASON_REQUIRED,
        )  # fmt: skip
        change_ids = memberships.pending_change_ids(session, [result])
    if not result.changed:
        console.info(f"already {result.to_status}: {found.id} {target}")
        return
    console.success(f"{found.id} {target}: {result.from_status or 'none'} -> {result.to_status}")
    push_role_changes(change_ids)


def push_role_changes(ids: list[int]) -> None:
    """Push the given outbox rows to Auth0 now when Auth0 is configured; otherwise (or if
    Auth0 is down) they stay queued for the scheduler or the next sync."""
    from aai_cli import console
    from aai_cli.services import followups

    push = followups.after_commit(ids, deliver_emails=False).push
    if push is None:
        return
    if not push.configured:
        console.info(QUEUED)
    elif push.problem:  # the decision itself is recorded
        console.warn(f"{push.problem}; {QUEUED}")
    else:
        console.info(f"Auth0: {push.counts}")


def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV or JSONL of user, platform|group, action, reason.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; change nothing.")
    ] = False,
    actor: ActorOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON on stdout.")] = False,
) -> None:
    """Bulk decisions: every row is validated first; nothing is applied if any is invalid."""
    from aai_cli import console
    from aai_cli.db import session_scope
    from aai_cli.errors import AaiError, InvalidInput
    from aai_cli.services.access import imports

    rows = imports.read_rows(file)
    actor = actor or default_actor()
    with session_scope() as session:
        report = imports.check_rows(session, rows, actor=actor)
    if report.errors:
        for problem in report.errors[:20]:
            console.error(f"{file}:{problem.line}: {problem.message}")
        more = len(report.errors) - 20
        if more > 0:
            console.error(f"... and {more} more")
        raise InvalidInput(
            f"{len(report.errors)} of {len(rows)} rows are invalid; nothing was applied"
        )
    if not dry_run:
        report = imports.ImportReport(rows=len(rows), dry_run=False)
        for start in range(0, len(rows), batch_size):
            try:
                with session_scope() as session:
                    batch = imports.apply_rows(
                        session, rows[start : start + batch_size], actor=actor
                    )
            except AaiError:
                console.error(f"stopped: rows before line {rows[start].line} were applied")
                push_role_changes(report.role_change_ids)
                raise
            report.add(batch)
        push_role_changes(report.role_change_ids)
    if as_json:
        console.print_json(report.summary())
    else:
        verb = "would change" if dry_run else "changed"
        console.success(f"{len(rows)} rows: {verb} {report.changed}, unchanged {report.unchanged}")
