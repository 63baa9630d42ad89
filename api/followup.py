"""What follows an access decision taken through the API.

The transition itself queued the emails and wrote the role change's outbox rows in the
request's transaction. After commit, background tasks push the
role change to Auth0 and deliver the emails; a failure there is only logged, since
`aai schedule` (and `aai sync`) retry both until done.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import BackgroundTasks
from sqlmodel import Session

from aai_cli.services.memberships import TransitionResult, pending_change_ids

log = logging.getLogger("aai.api")


def decision_response(result: TransitionResult) -> dict[str, Any]:
    key = "platform_id" if result.target.kind == "platform" else "group_id"
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
    change_ids = pending_change_ids(session, changed)
    if change_ids:
        background.add_task(push_role_changes, change_ids)
    if any(result.emails_queued for result in changed):  # queued in this transaction
        background.add_task(deliver_emails)


def push_role_changes(ids: list[int]) -> None:
    """Push the decision's Auth0 role changes right after commit; never raises."""
    from aai_cli.db import session_scope
    from aai_cli.services import outbox
    from aai_cli.services.auth0 import get_gateway

    try:
        with session_scope() as session:
            counts = outbox.push_role_changes(session, get_gateway(), ids=ids)
        log.info("role changes pushed after commit: %s", counts)
    except Exception as exc:
        log.warning("role change push after commit failed (the scheduler retries): %s", exc)


def deliver_emails() -> None:
    from aai_cli.services import emails

    emails.deliver_in_background()
