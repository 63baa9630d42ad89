"""The field rules of a registration (also what the availability routes check).

Each rule is a function from a value to its error message (None when the value is fine);
`checked(rule)` makes it a pydantic validator, so forms are pydantic models whose
validators raise, and `form_errors` gives their errors as `[{field, message}]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from aai_cli.errors import field_errors

T = TypeVar("T")

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


# --- the rules as pydantic validators ------------------------------------------------------


def refusal(message: str) -> PydanticCustomError:
    """A validator's error whose message is exactly `message` (no "Value error, " prefix)."""
    return PydanticCustomError("invalid", "{message}", {"message": message})


def checked(rule: Callable[[T], str | None]) -> AfterValidator:
    """`rule` as a validator: it raises the rule's message."""

    def validate(value: T) -> T:
        message = rule(value)
        if message:
            raise refusal(message)
        return value

    return AfterValidator(validate)


def reason_rule(limit: int) -> AfterValidator:
    def rule(reason: str | None) -> str | None:
        return reason_error(reason, limit)

    return checked(rule)


PersonName = Annotated[str, checked(name_error)]
EmailAddress = Annotated[str, checked(email_error)]
Username = Annotated[str, checked(username_error)]
Password = Annotated[str, checked(password_error)]


class Form(BaseModel):
    """A form: its fields' errors are reported in the order the fields are declared."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)  # never echo a password


class UsernameForm(Form):
    username: Username


class EmailForm(Form):
    email: EmailAddress


def form_errors(form: type[Form], **values: Any) -> list[dict[str, str]]:
    """The `[{field, message}]` errors of `values` on `form` ([] when they are valid)."""
    try:
        form.model_validate(values)
    except ValidationError as exc:
        return field_errors(exc.errors())
    return []
