"""What follows a committed access decision, for the CLI and the API alike: its Auth0
role changes pushed, then the emails it queued delivered.

Each step runs in a session of its own, with no transaction open across the call to
Auth0 or SMTP. Neither step raises: when Auth0 or SMTP is down or not configured the rows
stay queued (`aai schedule` and `aai sync` retry them until done) and the outcome says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aai_cli.db import session_scope
from aai_cli.errors import AaiError, ConfigError
from aai_cli.services.access.role_outbox import push_role_changes as push
from aai_cli.services.auth0 import get_gateway
from aai_cli.services.email.delivery import run_delivery
from aai_cli.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    counts: dict[str, int] | None = None  # what the step did, when it ran
    problem: str | None = None  # why it did not run or stopped short
    configured: bool = True  # False: the service is not configured here at all


@dataclass(frozen=True)
class FollowUp:
    push: Step | None = None  # None: there was nothing to push
    delivery: Step | None = None  # None: no email was queued
    problems: list[str] = field(default_factory=list)


def after_commit(change_ids: Sequence[int], *, deliver_emails: bool) -> FollowUp:
    """Push the outbox rows `change_ids` (with the older rows of the same user and role),
    then deliver due emails when the decisions queued some."""
    push = push_role_changes(change_ids) if change_ids else None
    delivery = deliver_due_emails() if deliver_emails else None
    problems = [
        f"{what}: {step.problem}"
        for what, step in (("role change push", push), ("email delivery", delivery))
        if step is not None and step.problem
    ]
    return FollowUp(push=push, delivery=delivery, problems=problems)


def push_role_changes(ids: Sequence[int]) -> Step:

    try:
        get_settings().require_auth0_management()
    except (ConfigError, ImportError) as exc:
        return Step(problem=str(exc), configured=False)
    try:
        with session_scope() as session:
            counts = push(session, get_gateway(), ids=ids)
    except AaiError as exc:  # Auth0 down or refusing the credentials
        return Step(problem=str(exc))
    except Exception as exc:
        log.exception("role change push after commit failed; the scheduler will retry")
        return Step(problem=str(exc))
    log.info("role changes pushed after commit: %s", counts)
    return Step(counts=counts)


def deliver_due_emails() -> Step:

    try:
        counts = run_delivery()
    except AaiError as exc:  # SMTP not configured, the database unavailable
        return Step(problem=str(exc))
    except Exception as exc:
        log.exception("email delivery after commit failed; the scheduler will retry")
        return Step(problem=str(exc))
    if any(counts.values()):
        log.info("emails delivered after commit: %s", counts)
    return Step(counts=counts)
