"""What a membership transition did: read by the notifications it queues, so that they
need not import the transitions for their types."""

from __future__ import annotations

from dataclasses import dataclass

from aai_cli.models import GroupMembership, MembershipEvent, PlatformMembership, Target

Membership = PlatformMembership | GroupMembership


@dataclass(frozen=True)
class TransitionResult:
    target: Target
    user_id: str
    action: str
    membership: Membership
    from_status: str | None
    to_status: str
    changed: bool
    event: MembershipEvent | None = None
    emails_queued: int = 0
