"""Self-service registration: validate, record, create the Auth0 user, then the database side.

A registration never changes an existing account: an email or username already taken (in
the database, live or soft-deleted, or in Auth0; compared case-insensitively) is refused
with `AlreadyTaken` before anything is written for it. Access for an existing account is
asked for by its signed-in owner (`/me/...`), never by a registration.

`register()` owns its transactions (like the outbox jobs), so none stays open while Auth0
or the institution check answers:
1. read (a read-only session): every field checked at once, the requested bundles and
   platforms found in the catalog, the email and username not taken;
2. the SBP workflow execution bundle needs an Australian research institution's email
   (`institutions`), asked with no session open;
3. the registration is recorded (`registrations`, status `started`; never the password)
   and committed;
4. the Auth0 user is created, with no transaction open (never retried blindly: a create is
   not idempotent); a duplicate there is `AlreadyTaken` too;
5. the database side (the user row as the sync writes it, one `request` transition per
   platform/group, their emails) is one more short transaction that marks the record
   `done`. If it fails, the record stays `auth0_created` and the `registrations` job
   finishes it (`registration_records`): the requested access is not lost.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, Protocol

from pydantic import ValidationInfo, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from aai_cli.db import session_scope
from aai_cli.errors import AaiError, Auth0Error, Auth0Unavailable, Conflict, InvalidInput
from aai_cli.models import (
    GROUP_PREFIX,
    REGISTRATION_ACTOR,
    GroupPlatform,
    MembershipEvent,
    Platform,
    RegistrationRecord,
    User,
)
from aai_cli.services import directory
from aai_cli.services.access import catalog, institutions, memberships, registration_records
from aai_cli.services.access.registration_records import Outcome, Requested
from aai_cli.services.access.registration_rules import (
    EmailAddress,
    EmailForm,
    Form,
    Password,
    PersonName,
    Username,
    UsernameForm,
    form_errors,
    reason_rule,
    refusal,
)
from aai_cli.settings import get_settings

log = logging.getLogger(__name__)

Kind = Literal["biocommons", "sbp"]
SBP_PLATFORM = "sbp"
BUNDLE_REASON_MAX = 255
BUNDLE_RE = re.compile(r"^[a-z0-9][a-z0-9_/-]{0,254}$")
USE_INSTITUTIONAL = (
    "Please use an Australian institutional email address if applying for "
    "SBP workflow execution access."
)


class RegistrationInvalid(InvalidInput):
    """One or more fields are invalid; `field_errors` = [{field, message}]."""

    def __init__(self, field_errors: list[dict[str, str]], message: str | None = None) -> None:
        first = field_errors[0]["message"] if len(field_errors) == 1 else None
        super().__init__(message or first or "the registration has invalid fields")
        self.field_errors = field_errors


TAKEN_MESSAGES = {
    ("username",): "Username is already taken",
    ("email",): "Email is already taken",
    ("email", "username"): "Username and email are already taken",
}


class AlreadyTaken(Conflict):
    """The email and/or username belong to an account; `field_errors` names which (none
    when Auth0 refused without saying which)."""

    def __init__(self, fields: list[str]) -> None:
        key = tuple(sorted(set(fields)))
        super().__init__(TAKEN_MESSAGES.get(key, "Username or email is already taken"))
        self.field_errors = [
            {"field": name, "message": TAKEN_MESSAGES[(name,)]}
            for name in ("username", "email")
            if name in key
        ]


class Gateway(Protocol):
    def create_user(self, **kwargs: Any) -> Any: ...
    def users_by_email(self, email: str) -> list[Any]: ...
    def get_user(self, user_id: str) -> Any: ...


@dataclass(frozen=True)
class BundleChoice:
    """One requested bundle: a slug (`tsi`) or a full group id, and its reason. `field`
    names it in errors: `bundles` (the list) or `bundle` (the older single field)."""

    bundle_id: str
    reason: str | None = None
    field: str = "bundles"


@dataclass(frozen=True)
class Registration:
    kind: Kind
    email: str
    username: str
    password: str = field(repr=False)
    first_name: str
    last_name: str
    bundles: tuple[BundleChoice, ...] = ()
    reason: str | None = None  # the platform request's reason (SBP registration)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def register(form: Registration, *, gateway: Gateway, url: str | None = None) -> Outcome:
    """Register one person; see the module docstring. Raises RegistrationInvalid (400),
    AlreadyTaken (409), ServiceUnavailable (503: nothing was created, or the outcome in
    Auth0 is unknown and the `registrations` job settles it)."""
    form = normalise(form)
    with session_scope(url, readonly=True) as session:
        requests = check(session, form)
        refuse_taken(session, email=form.email, username=form.username)
    check_eligibility(form, requests)
    with session_scope(url) as session:
        record_id = registration_records.start(
            session, kind=form.kind, email=form.email, username=form.username, requests=requests
        )
    remote = _create_auth0_user(form, record_id, gateway, url)
    return registration_records.finish_now(record_id, remote, url=url)


def normalise(form: Registration) -> Registration:
    return replace(
        form,
        email=form.email.strip().lower(),
        username=form.username.strip(),
        first_name=form.first_name.strip(),
        last_name=form.last_name.strip(),
        bundles=tuple(
            replace(b, bundle_id=b.bundle_id.strip(), reason=(b.reason or "").strip() or None)
            for b in form.bundles
        ),
        reason=(form.reason or "").strip() or None,
    )


def check(session: Session, form: Registration) -> list[Requested]:
    """Every field error at once; what to request when all is well."""
    errors = field_errors(form)
    requests: list[Requested] = []
    try:
        requests = requested_targets(session, form)
    except RegistrationInvalid as exc:
        errors += exc.field_errors
    if errors:
        raise RegistrationInvalid(errors)
    return requests


class RegistrationForm(Form):
    """A registration's fields and their rules (the bundles' reasons: `BundleReason`)."""

    kind: Kind
    first_name: PersonName
    last_name: PersonName
    email: EmailAddress
    username: Username
    password: Password
    reason: Annotated[str | None, reason_rule(memberships.MAX_REASON_LENGTH)] = None

    @field_validator("email")
    @classmethod
    def _sbp_member_email(cls, email: str, info: ValidationInfo) -> str:
        domain = email.rpartition("@")[2]
        if info.data.get("kind") != "sbp" or domain in get_settings().sbp_allowed_email_domains:
            return email
        raise refusal(
            "registration for the Structural Biology Platform needs an email address "
            "of a member institution"
        )


class BundleReason(Form):
    """One requested bundle's reason, named as the request names it: `bundles` (an entry
    of the list) or `reason` (the older single `bundle`'s reason)."""

    bundles: Annotated[str | None, reason_rule(BUNDLE_REASON_MAX)] = None
    reason: Annotated[str | None, reason_rule(BUNDLE_REASON_MAX)] = None


def field_errors(form: Registration) -> list[dict[str, str]]:
    errors = form_errors(
        RegistrationForm, **{name: getattr(form, name) for name in RegistrationForm.model_fields}
    )
    for bundle in form.bundles:
        name = "reason" if bundle.field == "bundle" else bundle.field
        errors += form_errors(BundleReason, **{name: bundle.reason})
    return errors


def requested_targets(session: Session, form: Registration) -> list[Requested]:
    """SBP: the SBP platform. BioCommons: the auto-approved platforms, plus each bundle (a
    group; duplicates collapsed) and the platforms it bundles."""
    if form.kind == "sbp":
        memberships.require_platform(session, SBP_PLATFORM)
        return [Requested("platform", SBP_PLATFORM, form.reason)]
    platform_ids = list(session.exec(select(Platform.id).where(Platform.auto_approve)))
    groups: dict[str, str | None] = {}
    for choice in form.bundles:
        group_id = _group_of(session, choice)
        groups[group_id] = groups.get(group_id) or choice.reason
        bundled = session.exec(
            select(GroupPlatform.platform_id).where(GroupPlatform.group_id == group_id)
        )
        platform_ids += [p for p in bundled if p not in platform_ids]
    platforms = [Requested("platform", p, None) for p in sorted(platform_ids)]
    return platforms + [Requested("group", g, reason) for g, reason in groups.items()]


def _group_of(session: Session, choice: BundleChoice) -> str:
    bundle = choice.bundle_id
    group_id = bundle if bundle.startswith(GROUP_PREFIX) else GROUP_PREFIX + bundle
    offered = [group.id for group in catalog.offered_groups(session)]
    if BUNDLE_RE.match(bundle) and group_id in offered:
        return group_id
    known = ", ".join(g.removeprefix(GROUP_PREFIX) for g in offered)
    raise RegistrationInvalid(
        [{"field": choice.field, "message": f"unknown bundle (one of: {known})"}]
    )


def check_eligibility(form: Registration, requests: list[Requested]) -> None:
    """The institutional-email rule of some bundles (an HTTP call: no session open)."""
    if not any(r.kind == "group" and r.id in institutions.INSTITUTIONAL_GROUPS for r in requests):
        return
    if not institutions.is_australian_research_institution(form.email):
        raise RegistrationInvalid(
            [{"field": "email", "message": USE_INSTITUTIONAL}],
            message=institutions.INSTITUTIONAL_EMAIL_REQUIRED,
        )


# --- taken emails and usernames --------------------------------------------------------


def refuse_taken(session: Session, *, email: str, username: str) -> None:
    fields = taken_fields(session, email=email, username=username)
    if fields:
        raise AlreadyTaken(fields)


def taken_fields(
    session: Session, *, email: str | None = None, username: str | None = None
) -> list[str]:
    """Which of `email` and `username` an account already has, live or soft-deleted, or
    once had (the identity history keeps former values reserved), compared
    case-insensitively. Only a database-connection account (`auth0|`) holds an email: a
    social login with the same email does not stop a registration (Auth0 keeps them
    apart)."""
    fields = []
    if email and (
        _exists(
            session,
            func.lower(User.email) == email.strip().lower(),
            col(User.id).startswith("auth0|", autoescape=True),
        )
        or directory.in_identity_history(session, "email", email)
    ):
        fields.append("email")
    if username and (
        _exists(session, func.lower(User.username) == username.strip().lower())
        or directory.in_identity_history(session, "username", username)
    ):
        fields.append("username")
    return fields


def _exists(session: Session, *conditions: Any) -> bool:
    return session.exec(select(User.id).where(*conditions).limit(1)).first() is not None


def username_available(session: Session, username: str) -> list[dict[str, str]]:
    """[] when the username can be registered, else its field errors."""
    username = username.strip()
    return form_errors(UsernameForm, username=username) or _taken(session, username=username)


def email_available(session: Session, email: str) -> list[dict[str, str]]:
    """[] when the email can be registered, else its field errors."""
    email = email.strip().lower()
    return email_errors(email) or _taken(session, email=email)


def email_errors(email: str) -> list[dict[str, str]]:
    return form_errors(EmailForm, email=email)


def _taken(session: Session, **values: str) -> list[dict[str, str]]:
    fields = taken_fields(session, **values)
    return AlreadyTaken(fields).field_errors if fields else []


def registration_app(session: Session, email: str) -> Kind:
    """Where the person with this email registered ("biocommons" when unknown): their
    finished registration's kind, or for registrations older than that record, "sbp" if
    their registration requested the SBP platform."""

    email = email.strip().lower()
    if email_errors(email):
        return "biocommons"
    kind = session.exec(
        select(RegistrationRecord.kind)
        .where(RegistrationRecord.email == email, RegistrationRecord.status == "done")
        .order_by(col(RegistrationRecord.created_at).desc())
        .limit(1)
    ).first()
    if kind is not None:
        return "sbp" if kind == "sbp" else "biocommons"
    found = session.exec(
        select(MembershipEvent.id)
        .join(User, col(User.id) == MembershipEvent.user_id)
        .where(
            User.email == email,
            col(User.deleted_at).is_(None),
            MembershipEvent.actor == REGISTRATION_ACTOR,
            MembershipEvent.platform_id == SBP_PLATFORM,
        )
        .limit(1)
    ).first()
    return "sbp" if found is not None else "biocommons"


# --- Auth0 -------------------------------------------------------------------------------


def _create_auth0_user(
    form: Registration, record_id: str, gateway: Gateway, url: str | None
) -> Any:
    """The new Auth0 user. A refusal marks the record failed; an unknown outcome
    (Auth0Unavailable) leaves it `started` for the job to settle."""
    try:
        return gateway.create_user(
            email=form.email,
            password=form.password,
            username=form.username,
            name=form.name,
            given_name=form.first_name,
            family_name=form.last_name,
            app_metadata={"registration_from": form.kind, "registration_id": record_id},
        )
    except Conflict:
        registration_records.mark_failed(record_id, "taken in Auth0", url=url)
        raise AlreadyTaken(_taken_in_auth0(form, gateway)) from None
    except Auth0Unavailable as exc:
        log.warning("registration %s: Auth0 create failed, the job settles it: %s", record_id, exc)
        raise Auth0Unavailable(
            "the account service is unavailable at the moment: please try again in a few minutes"
        ) from None
    except Auth0Error as exc:
        registration_records.mark_failed(record_id, str(exc), url=url)
        if exc.status_code == 400:  # e.g. the tenant's password policy
            raise RegistrationInvalid(
                [], message=f"Auth0 refused the registration: {exc}"
            ) from None
        raise


def _taken_in_auth0(form: Registration, gateway: Gateway) -> list[str]:
    """Which field Auth0's duplicate was about, as far as an immediately consistent lookup
    by email tells: [] when it cannot tell."""
    try:
        holders = [u for u in gateway.users_by_email(form.email) if u.user_id.startswith("auth0|")]
    except AaiError:
        return []
    if not holders:
        return ["username"]  # not the email: Auth0 found the username
    same_username = any((u.username or "").lower() == form.username.lower() for u in holders)
    return ["email", "username"] if same_username else ["email"]
