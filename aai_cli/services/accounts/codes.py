"""The email change by the person themselves, confirmed with a one-time code.

`start_email_change`: the new address checked (valid, not held or once used by another
account), every earlier active code of the user deactivated, a new 6-digit code drawn
from `secrets`, only its salted SHA-256 hash stored, valid 10 minutes, emailed to the new
address (through the outbox). `confirm_email_change`: only the latest active unexpired
code counts; each try is counted (10 per code, success included); the hashes are compared
in constant time; the try that uses up the attempts deactivates the code and answers
`TooManyAttempts` (429). A right code is claimed (deactivated) before Auth0 is asked;
should Auth0 refuse or be down, the claim is undone and nothing else changes. Then Auth0
gets the address as verified (the code proves it) and the database mirrors it with a
history row and a notice to the old address. `prune_codes` (the `codes` job) deletes
the expired codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from aai_cli.db import session_scope
from aai_cli.errors import AaiError
from aai_cli.models import EmailChangeCode, GroupMembership, Target, utcnow
from aai_cli.services.access import institutions, memberships
from aai_cli.services.accounts import history
from aai_cli.services.accounts.identity import check_new_email, record_email_change
from aai_cli.services.accounts.results import (
    AccountChange,
    EmailTakenAtConfirmation,
    NoPendingCode,
    TooManyAttempts,
    WrongCode,
)
from aai_cli.services.accounts.steps import Gateway, email_person, read_account
from aai_cli.services.auth0.gateway import Auth0Conflict

# Who ends an institution-only bundle after an email change (shown as automatic), and why.
EMAIL_CHANGE_ACTOR = "system:email-change"
NON_INSTITUTIONAL_REASON = "Email changed to a non-institutional address"

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class CodeSent:
    user_id: str
    new_email: str
    expires_at: datetime
    message: str = "OTP sent to the requested email address."


def hash_code(code: str, salt: str | None = None) -> str:
    salt = salt if salt is not None else secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    return f"{salt}${digest}"


def code_matches(code: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_code(code, salt), stored)


def start_email_change(user_id: str, *, email: str, url: str | None = None) -> CodeSent:
    """Step 1: issue a code for `email` and queue it to that address."""
    account = read_account(user_id, url=url)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = utcnow()
    with session_scope(url) as session:
        email = check_new_email(session, email, user_id=user_id)
        _deactivate(session, user_id)
        row = EmailChangeCode(
            user_id=user_id,
            new_email=email,
            code_hash=hash_code(code),
            expires_at=now + CODE_TTL,
            created_at=now,
        )
        session.add(row)
        email_person(
            session, to=email, kind="email_change_code", name=account.display_name,
            code=code, minutes=int(CODE_TTL.total_seconds() // 60), new_email=email,
        )  # fmt: skip
        session.flush()
        return CodeSent(user_id, email, row.expires_at)


def _deactivate(session: Session, user_id: str) -> None:
    session.execute(
        update(EmailChangeCode)
        .where(col(EmailChangeCode.user_id) == user_id, col(EmailChangeCode.active))
        .values(active=False)
    )


def confirm_email_change(
    user_id: str, *, code: str, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """Step 2: apply the pending change when `code` matches (see the module docstring)."""
    account = read_account(user_id, url=url)
    code_id, new_email = _claim(user_id, code.strip(), url)
    try:
        remote = gateway.update_user(user_id, email=new_email, email_verified=True)
    except Auth0Conflict:
        _unclaim(code_id, url)
        raise EmailTakenAtConfirmation() from None
    except AaiError:
        _unclaim(code_id, url)
        raise
    change = AccountChange(
        user_id, "email", account.email, new_email, user_id, "confirmed with a one-time code"
    )
    record_email_change(change, remote, old_email=account.email, url=url)
    _end_institutional_access(change, new_email, url)
    return change


def _end_institutional_access(change: AccountChange, new_email: str, url: str | None) -> None:
    """The bundles open only to institutional addresses (SBP workflow execution) end when
    the new address is definitely not one; an unclear institution check keeps them (and
    says so in `problems`). Checked with no transaction open."""
    user_id = change.user_id
    with session_scope(url, readonly=True) as session:
        held = session.exec(
            select(GroupMembership.group_id).where(
                GroupMembership.user_id == user_id,
                GroupMembership.status == "approved",
                col(GroupMembership.group_id).in_(sorted(institutions.INSTITUTIONAL_GROUPS)),
            )
        ).all()
    if not held:
        return
    try:
        if institutions.is_australian_research_institution(new_email):
            return
    except institutions.InstitutionCheckUnavailable:
        change.problems.append(
            "the institution check gave no clear answer: institution-only bundles were kept"
        )
        return
    with session_scope(url) as session:
        results = [
            memberships.transition(
                session,
                user_id=user_id,
                target=Target("group", group_id),
                action="revoke",
                actor=EMAIL_CHANGE_ACTOR,
                reason=NON_INSTITUTIONAL_REASON,
            )
            for group_id in held
        ]
        change.role_change_ids += memberships.pending_change_ids(session, results)


def _claim(user_id: str, code: str, url: str | None) -> tuple[int, str]:
    """Count the try and, for the right code, deactivate it: (code id, new address).
    Each outcome is committed, the refusals included (they raise after the commit)."""
    refusal: AaiError | None = None
    with session_scope(url) as session:
        now = utcnow()
        row = session.exec(
            select(EmailChangeCode)
            .where(EmailChangeCode.user_id == user_id, col(EmailChangeCode.active))
            .order_by(col(EmailChangeCode.created_at).desc(), col(EmailChangeCode.id).desc())
            .limit(1)
        ).first()
        if row is None or row.expires_at <= now:
            raise NoPendingCode()
        if row.attempts >= MAX_ATTEMPTS:
            row.active = False
            refusal = TooManyAttempts()
        else:
            row.attempts += 1
            if not code_matches(code, row.code_hash):
                refusal = WrongCode()
                if row.attempts >= MAX_ATTEMPTS:
                    row.active, refusal = False, TooManyAttempts()
            elif history.email_taken(session, row.new_email, user_id=user_id):
                refusal = EmailTakenAtConfirmation()
            else:
                row.active, row.consumed_at = False, now
        session.add(row)
        claimed = (row.id or 0, row.new_email)
    if refusal is not None:
        raise refusal
    return claimed


def _unclaim(code_id: int, url: str | None) -> None:
    """Auth0 did not take the change: the code is usable again (its try still counts)."""
    with session_scope(url) as session:
        session.execute(
            update(EmailChangeCode)
            .where(col(EmailChangeCode.id) == code_id)
            .values(active=True, consumed_at=None)
        )


def prune_codes(session: Session, *, now: datetime | None = None) -> int:
    """Delete the expired codes (a used, replaced or exhausted code expires 10 minutes
    after it was issued like any other)."""
    result = session.execute(
        delete(EmailChangeCode).where(col(EmailChangeCode.expires_at) < (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
