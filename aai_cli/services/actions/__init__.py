"""The flows Auth0's Actions send people through: the legacy password migration, the
verification-email resend, and the welcome email once an address is verified.

`session_tokens` checks and spends the Actions' HS256 session tokens; `flows` holds the
migration and the resend; `welcome` the one welcome email per person.
"""

from aai_cli.services.actions.flows import (
    CLIENT_ID_PATTERN,
    Completion,
    ResendRequest,
    check_resend_token,
    complete_password_migration,
    continue_url,
    resend_verification_email,
    start_password_migration,
)
from aai_cli.services.actions.session_tokens import (
    SessionToken,
    SessionTokenClaims,
    SessionTokenRefused,
    prune_spent,
)
from aai_cli.services.actions.welcome import queue_welcome, send_welcome

__all__ = [
    "CLIENT_ID_PATTERN",
    "Completion",
    "ResendRequest",
    "SessionToken",
    "SessionTokenClaims",
    "SessionTokenRefused",
    "check_resend_token",
    "complete_password_migration",
    "continue_url",
    "prune_spent",
    "queue_welcome",
    "resend_verification_email",
    "send_welcome",
    "start_password_migration",
]
