"""Self-service registration: validate, create the Auth0 user, then the database side.

Order and idempotency:
1. Every field is checked (all errors at once, per field), and the requested bundle or
   platform must exist, before Auth0 is called.
2. The Auth0 user is created first (never retried blindly: a create is not idempotent).
3. The database side follows in the caller's transaction: the user row (the same upsert
   the sync uses) and one `request` transition per requested platform/group, whose
   notifications are queued with it, plus the registration email.
A retry of the same registration (same email and username) finds the user, in the
database or through Auth0's 409, completes whatever the database side lacks and answers
"already registered"; if the database side failed after Auth0 created the user, the
person can log in meanwhile and the retry (or the sync) adopts the account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from aai_cli.errors import Conflict, DatabaseUnavailable, InvalidInput
from aai_cli.models import Group, GroupPlatform, Platform, RoleChange, User, utcnow
from aai_cli.services import memberships, notifications
from aai_cli.services.memberships import MAX_REASON_LENGTH, Target
from aai_cli.settings import get_settings

Kind = Literal["biocommons", "sbp"]
ACTOR = "system:registration"
SBP_PLATFORM = "sbp"
GROUP_PREFIX = "biocommons/group/"
USERNAME_RE = re.compile(r"^[a-z0-9][-_a-z0-9]*$")
USERNAME_LENGTH = (3, 128)
PASSWORD_LENGTH = (8, 72)
NAME_MAX = 255
BUNDLE_RE = re.compile(r"^[a-z0-9][a-z0-9_/-]{0,254}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_IN_TEXT_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # keeps \t \n \r
NO_CONTROL = "must not contain control characters"


class RegistrationInvalid(InvalidInput):
    """One or more fields are invalid; `field_errors` = [{field, message}]."""

    def __init__(self, field_errors: list[dict[str, str]]) -> None:
        first = field_errors[0]["message"] if len(field_errors) == 1 else None
        super().__init__(first or "the registration has invalid fields")
        self.field_errors = field_errors


class Gateway(Protocol):
    def create_user(self, **kwargs: Any) -> Any: ...
    def users_by_email(self, email: str) -> list[Any]: ...


@dataclass(frozen=True)
class Registration:
    kind: Kind
    email: str
    username: str
    password: str = field(repr=False)
    first_name: str
    last_name: str
    bundle: str | None = None
    reason: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Outcome:
    user_id: str
    email: str
    username: str
    created: bool  # False: the same registration had been done before
    memberships: list[dict[str, str]]
    role_change_ids: list[int] = field(default_factory=list)  # to push after commit

    @property
    def message(self) -> str:
        return "registered" if self.created else "already registered"


def register(session: Session, form: Registration, *, gateway: Gateway) -> Outcome:
    """Register (or finish registering) one person; see the module docstring."""
    form = normalise(form)
    targets = check(session, form)
    local = _local_match(session, form)
    if local is not None and _has_requests(session, local.id, targets):
        return _outcome(session, local, targets, created=False)
    remote, created = _create_or_find(form, gateway)
    try:
        user, first_time = _upsert_user(session, remote)
        for target in targets:
            _request(session, user.id, target, form.reason)
        statuses = _statuses(session, user.id, targets)
        if first_time:
            notifications.notify_registration(session, user=user, memberships=statuses)
        session.flush()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            "your account was created but recording the registration failed; "
            "you can sign in, and sending the registration again completes it",
            hint=type(exc).__name__,
        ) from None
    return Outcome(
        user.id, form.email, form.username, created, statuses, _pending_changes(session, user.id)
    )


def _pending_changes(session: Session, user_id: str) -> list[int]:
    query = select(RoleChange.id).where(
        RoleChange.user_id == user_id, RoleChange.status == "pending"
    )
    return [i for i in session.exec(query) if i is not None]


def normalise(form: Registration) -> Registration:
    return replace(
        form,
        email=form.email.strip().lower(),
        username=form.username.strip(),
        first_name=form.first_name.strip(),
        last_name=form.last_name.strip(),
        bundle=(form.bundle or "").strip() or None,
        reason=(form.reason or "").strip() or None,
    )


def check(session: Session, form: Registration) -> list[Target]:
    """Every field error at once; the targets to request when all is well."""
    errors = field_errors(form)
    targets: list[Target] = []
    try:
        targets = requested_targets(session, form)
    except RegistrationInvalid as exc:
        errors += exc.field_errors
    if errors:
        raise RegistrationInvalid(errors)
    return targets


def field_errors(form: Registration) -> list[dict[str, str]]:
    checks = {
        "first_name": _name_error(form.first_name),
        "last_name": _name_error(form.last_name),
        "email": email_error(form.email) or _sbp_email_error(form),
        "username": username_error(form.username),
        "password": password_error(form.password),
        "reason": _reason_error(form.reason),
    }
    return [{"field": name, "message": message} for name, message in checks.items() if message]


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


def _sbp_email_error(form: Registration) -> str | None:
    if form.kind != "sbp":
        return None
    domain = form.email.rpartition("@")[2]
    if domain in get_settings().sbp_allowed_email_domains:
        return None
    return (
        "registration for the Structural Biology Platform needs an email address "
        "of a member institution"
    )


def _name_error(value: str) -> str | None:
    if not value:
        return "required"
    if len(value) > NAME_MAX:
        return f"at most {NAME_MAX} characters"
    return NO_CONTROL if CONTROL_RE.search(value) else None


def _reason_error(reason: str | None) -> str | None:
    if reason and len(reason) > MAX_REASON_LENGTH:
        return f"at most {MAX_REASON_LENGTH} characters"
    return NO_CONTROL if reason and CONTROL_IN_TEXT_RE.search(reason) else None


def requested_targets(session: Session, form: Registration) -> list[Target]:
    """SBP: the SBP platform. BioCommons: the auto-approved platforms, plus the bundle
    (a group) and the platforms it bundles when one is chosen."""
    if form.kind == "sbp":
        memberships.require_platform(session, SBP_PLATFORM)
        return [Target("platform", SBP_PLATFORM)]
    platform_ids = list(session.exec(select(Platform.id).where(Platform.auto_approve)))
    targets: list[Target] = []
    if form.bundle:
        group_id = (
            form.bundle if form.bundle.startswith(GROUP_PREFIX) else GROUP_PREFIX + form.bundle
        )
        if not BUNDLE_RE.match(form.bundle) or session.get(Group, group_id) is None:
            known = ", ".join(g.removeprefix(GROUP_PREFIX) for g in session.exec(select(Group.id)))
            raise RegistrationInvalid(
                [{"field": "bundle", "message": f"unknown bundle (one of: {known})"}]
            )
        targets.append(Target("group", group_id))
        bundled = session.exec(
            select(GroupPlatform.platform_id).where(GroupPlatform.group_id == group_id)
        )
        platform_ids += [p for p in bundled if p not in platform_ids]
    return [Target("platform", p) for p in sorted(platform_ids)] + targets


def _local_match(session: Session, form: Registration) -> User | None:
    """The live row this registration already produced, or AlreadyTaken naming what
    belongs to somebody else."""
    owner = _live_user_by_username(session, form.username)
    if owner is not None:
        if (owner.email or "").lower() == form.email:
            return owner
        raise taken("username")
    if email_taken(session, form.email):
        raise taken("email")
    return None


def _live_user_by_username(session: Session, username: str) -> User | None:
    return session.exec(
        select(User).where(User.username == username, User.deleted_at.is_(None))  # type: ignore[union-attr]
    ).first()


def email_taken(session: Session, email: str) -> bool:
    """Whether a live database-connection account has this email (a social login with the
    same email does not stop a registration: Auth0 keeps them apart)."""
    ids = session.exec(
        select(User.id).where(User.email == email.strip().lower(), User.deleted_at.is_(None))  # type: ignore[union-attr]
    )
    return any(user_id.startswith("auth0|") for user_id in ids)


def username_available(session: Session, username: str) -> list[dict[str, str]]:
    """[] when the username can be registered, else its field errors."""
    username = username.strip()
    error = username_error(username)
    if error is None and _live_user_by_username(session, username) is not None:
        error = "this username is already taken"
    return [{"field": "username", "message": error}] if error else []


def email_available(session: Session, email: str) -> list[dict[str, str]]:
    """[] when the email can be registered, else its field errors."""
    email = email.strip().lower()
    error = email_error(email)
    if error is None and email_taken(session, email):
        error = "this email is already registered"
    return [{"field": "email", "message": error}] if error else []


def registration_app(session: Session, email: str) -> Kind:
    """Where the person with this email registered ("biocommons" when unknown): "sbp" if
    their registration requested the SBP platform. From the membership events."""
    from aai_cli.models import MembershipEvent

    email = email.strip().lower()
    if email_error(email):
        return "biocommons"
    found = session.exec(
        select(MembershipEvent.id)
        .join(User, User.id == MembershipEvent.user_id)  # type: ignore[arg-type]
        .where(
            User.email == email,
            User.deleted_at.is_(None),  # type: ignore[union-attr]
            MembershipEvent.actor == ACTOR,
            MembershipEvent.platform_id == SBP_PLATFORM,
        )
        .limit(1)
    ).first()
    return "sbp" if found is not None else "biocommons"


class AlreadyTaken(Conflict):
    """The email or username belongs to another account; `field_errors` names which."""

    def __init__(self, what: str) -> None:
        super().__init__(f"this {what} is already registered to another account")
        self.field_errors = [{"field": what, "message": f"this {what} is already taken"}]


def taken(what: str) -> AlreadyTaken:
    return AlreadyTaken(what)


def _create_or_find(form: Registration, gateway: Gateway) -> tuple[Any, bool]:
    """(the Auth0 user, whether this call created it)."""
    try:
        return gateway.create_user(
            email=form.email,
            password=form.password,
            username=form.username,
            name=form.name,
            given_name=form.first_name,
            family_name=form.last_name,
            app_metadata={"registration_from": form.kind},
        ), True
    except Conflict:
        pass
    for user in gateway.users_by_email(form.email):
        if user.user_id.startswith("auth0|"):
            if user.username == form.username:
                return user, False
            raise taken("email") from None
    raise taken("username") from None


def _upsert_user(session: Session, remote: Any) -> tuple[User, bool]:
    """The user's row from the Auth0 user (the sync's upsert); whether it is new."""
    from aai_cli.services.sync_users import upsert_rows, user_row

    existing = session.get(User, remote.user_id)
    first_time = existing is None or existing.deleted_at is not None
    upsert_rows(session, [user_row(remote, utcnow())])
    session.expire_all()
    user = session.get(User, remote.user_id)
    assert user is not None
    return user, first_time


def _request(session: Session, user_id: str, target: Target, reason: str | None) -> None:
    if memberships.get_membership(session, user_id=user_id, target=target) is not None:
        return  # a retry: this request (or a later decision) is already recorded
    memberships.transition(
        session, user_id=user_id, target=target, action="request", actor=ACTOR, reason=reason
    )


def _has_requests(session: Session, user_id: str, targets: list[Target]) -> bool:
    return all(
        memberships.get_membership(session, user_id=user_id, target=t) is not None for t in targets
    )


def _statuses(session: Session, user_id: str, targets: list[Target]) -> list[dict[str, str]]:
    result = []
    for target in targets:
        membership = memberships.get_membership(session, user_id=user_id, target=target)
        result.append(
            {
                "kind": target.kind,
                "id": target.id,
                "name": notifications.target_name(session, target),
                "status": membership.status if membership else "unknown",
            }
        )
    return result


def _outcome(session: Session, user: User, targets: list[Target], *, created: bool) -> Outcome:
    statuses = _statuses(session, user.id, targets)
    return Outcome(user.id, user.email or "", user.username or "", created, statuses)
