"""The field rules of a registration (also what the availability routes check)."""

from __future__ import annotations

import re

USERNAME_RE = re.compile(r"^[a-z0-9][-_a-z0-9]*$")
USERNAME_LENGTH = (3, 128)
PASSWORD_LENGTH = (8, 72)
NAME_MAX = 255
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_IN_TEXT_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # keeps \t \n \r
NO_CONTROL = "must not contain control characters"


def username_error(username: str) -> str | None:
    low, high = USERNAME_LENGTH
    if not low <= len(username) <= high:
        return f"the username must be {low} to {high} characters long"
    if not USERNAME_RE.match(username):
        return (
            "the username may contain only lowercase letters, digits, '-' and '_', "
            "and must start with a letter or a digit"
        )
    return None


def password_error(password: str) -> str | None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        return f"the password must be {low} to {high} characters long"
    missing = [
        what
        for what, test in (
            ("an uppercase letter", str.isupper),
            ("a lowercase letter", str.islower),
            ("a digit", str.isdigit),
            ("a symbol", _is_symbol),
        )
        if not any(test(c) for c in password)
    ]
    if missing:
        return "the password needs " + ", ".join(missing)
    return f"the password {NO_CONTROL}" if CONTROL_RE.search(password) else None


def _is_symbol(char: str) -> bool:
    return not char.isalnum() and not char.isspace()


def email_error(email: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"not a valid email address: {exc}"
    return None


def name_error(value: str) -> str | None:
    if not value:
        return "required"
    if len(value) > NAME_MAX:
        return f"at most {NAME_MAX} characters"
    return NO_CONTROL if CONTROL_RE.search(value) else None


def reason_error(reason: str | None, limit: int) -> str | None:
    if reason and len(reason) > limit:
        return f"the reason must be at most {limit} characters"
    return NO_CONTROL if reason and CONTROL_IN_TEXT_RE.search(reason) else None
