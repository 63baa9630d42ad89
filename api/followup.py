"""What follows an access decision taken through the API.

The transition itself queued the emails and wrote the role change's outbox rows in the
request's transaction. After commit, a background task pushes the
role change to Auth0 and delivers the emails; a failure there is only logged, since
`aai schedule` (and `aai sync`) retry both until done.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import BackgroundTasks
from sqlmodel import Session

from aai_cli.services import followups
from aai_cli.services.access.memberships import pending_change_ids
from aai_cli.services.access.results import TransitionResult

log = logging.getLogger("aai.api")


def decision_response(result: TransitionResult) -> dict[str, Any]:
    key = result.target.tables.key
    return {
        "updated": result.changed,
        "user_id": result.user_id,
        key: result.target.id,
        "action": result.action,
        "from_status": result.from_status,
        "status": result.to_status,
    }


def after_decision(session: Session, background: BackgroundTasks, result: TransitionResult) -> None:
    """Schedule the after-commit pushes of `result`'s role change and emails."""
    after_decisions(session, background, [result])


def after_decisions(
    session: Session, background: BackgroundTasks, results: list[TransitionResult]
) -> None:
    """The same for several decisions of one request: one push, one delivery."""
    changed = [result for result in results if result.changed]
    schedule_after_commit(
        background,
        pending_change_ids(session, changed),
        deliver_emails=any(result.emails_queued for result in changed),  # queued here
    )


def schedule_after_commit(
    background: BackgroundTasks, change_ids: list[int], *, deliver_emails: bool
) -> None:
    """One background task, run after commit: push `change_ids`, then deliver emails."""
    if change_ids or deliver_emails:
        background.add_task(_after_commit, change_ids, deliver_emails)


def _after_commit(change_ids: list[int], deliver_emails: bool) -> None:
    for problem in followups.after_commit(change_ids, deliver_emails=deliver_emails).problems:
        log.warning("%s after commit failed (the scheduler retries)", problem)
