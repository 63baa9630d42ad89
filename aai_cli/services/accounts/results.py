"""What an account change returns, and the errors it raises (each a field error the
portal shows under the field it names, or a plain message)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aai_cli.errors import Conflict, InvalidInput


@dataclass
class AccountChange:
    """One change made in Auth0 and mirrored here. `role_change_ids` and `emails` are
    what the caller pushes and delivers after commit (`followups.after_commit`);
    `problems` are best-effort steps that did not happen (the change itself did)."""

    user_id: str
    kind: str
    old_value: str | None = None
    new_value: str | None = None
    actor: str = ""
    reason: str | None = None
    role_change_ids: list[int] = field(default_factory=list)
    emails: int = 0
    problems: list[str] = field(default_factory=list)


class FieldInvalid(InvalidInput):
    """A value refused, named by its field (400 with `field_errors`)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_errors = [{"field": field_name, "message": message}]


class NotSupported(InvalidInput):
    """The change does not apply to this account (a social login has no password here)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field_errors: list[dict[str, str]] = []


USERNAME_TAKEN = "Username is already taken"
EMAIL_TAKEN = "Email is already in use by another user"


class EmailTakenAtConfirmation(Conflict):
    """The address of a pending email change now belongs to another account (409)."""

    def __init__(self) -> None:
        super().__init__(EMAIL_TAKEN + ".")


class NoPendingCode(InvalidInput):
    def __init__(self) -> None:
        super().__init__("No pending email change request exists.")


class WrongCode(InvalidInput):
    def __init__(self) -> None:
        super().__init__("Invalid OTP.")


class TooManyAttempts(Conflict):
    """The code's attempts are used up (the route answers 429; the code is deactivated)."""

    http_status = 429

    def __init__(self) -> None:
        super().__init__("Too many verification attempts. Try again later.")
