"""The error types every layer raises; `main.run()` turns them into one line and an exit code.

Exit codes (documented in the README):
0 ok, 1 unexpected, 2 usage, 3 check failed / drift / conflict, 4 not found,
5 external service unavailable, 6 configuration error, 7 busy, 8 safety guard tripped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class AaiError(Exception):
    """An error with a message for the operator and an exit code for the shell.

    A subclass states its exit code in its header: `class NotFound(AaiError, exit_code=4)`;
    without one it keeps its parent's.
    """

    exit_code = 1

    def __init_subclass__(cls, *, exit_code: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AaiError, exit_code=2):
    """The command was called wrongly (bad arguments)."""


class CheckFailed(AaiError, exit_code=3):
    """A check found drift or a stale artefact."""


class Conflict(AaiError, exit_code=3):
    """The requested change is not allowed from the current state."""


class NotFound(AaiError, exit_code=4):
    """The thing asked for does not exist."""


class ServiceUnavailable(AaiError, exit_code=5):
    """An external service (database, Auth0, SMTP) could not be reached or gave up."""


class DatabaseUnavailable(ServiceUnavailable):
    pass


class Auth0Unavailable(ServiceUnavailable):
    pass


class SmtpUnavailable(ServiceUnavailable):
    pass


class ConfigError(AaiError, exit_code=6):
    """The settings are missing or wrong."""


class Busy(AaiError, exit_code=7):
    """Another run holds the lock."""


class SafetyGuard(AaiError, exit_code=8):
    """A safety guard stopped the work before it could do damage."""


class Auth0Error(AaiError, exit_code=1):
    """Auth0 answered with an error that is not a transient failure (4xx other than 429)."""

    def __init__(self, message: str, *, status_code: int, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code


EXIT_CODES = {
    0: "success",
    1: "unexpected error",
    2: "usage error (bad arguments)",
    3: "check failed, drift found, or a conflicting change",
    4: "not found",
    5: "external service unavailable (database, Auth0, SMTP)",
    6: "configuration error",
    7: "busy: another run holds the lock",
    8: "safety guard tripped (nothing was changed)",
}


class InvalidInput(UsageError):
    """A value failed validation (a reason too long, a malformed id, a bad file row)."""


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Validation errors (pydantic's `ValidationError.errors()`, FastAPI's request errors)
    as the API's `[{field, message}]`: the field is the error's location joined by dots
    without a request's `body` (`username`, `query.email`, `bundles.0.bundle_id`), `body`
    when nothing is left; malformed JSON is `{body, "malformed JSON"}`."""
    result = []
    for error in errors:
        if error.get("type") == "json_invalid":
            result.append({"field": "body", "message": "malformed JSON"})
            continue
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        result.append({"field": ".".join(location) or "body", "message": error.get("msg", "")})
    return result
