"""Fill the local Auth0 and the demo database with the personas, through the real paths:
the users and their roles in Auth0, a sync into the database, then the decisions that
leave memberships pending, rejected or revoked (each with its history, the emails they
queue, and the role removals pushed to Auth0)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from aai_cli import db
from aai_cli.demo.personas import DEMO_PASSWORD, PERSONAS, Persona, decider
from aai_cli.services import followups, sync
from aai_cli.services.access import catalog, memberships
from aai_cli.services.access.results import TransitionResult

if TYPE_CHECKING:
    from aai_cli.localauth0.server import LocalAuth0


def fill_tenant(auth0: LocalAuth0) -> None:
    """The catalog's access and admin roles, the super-admin role, and every persona with
    the roles it holds before the decisions (an approval that is later revoked included)."""
    spec = catalog.parse_catalog(catalog.DEFAULT_CATALOG)
    names = [p.access_role_name for p in spec.platforms] + [g.id for g in spec.groups]
    names += [r for p in spec.platforms for r in p.admin_roles]
    names += [r for g in spec.groups for r in g.admin_roles]
    names += [r for persona in PERSONAS for r in persona.roles]
    for name in dict.fromkeys(names):
        auth0.add_role(name, f"BioCommons role {name}")
    roles = {p.id: p.access_role_name for p in spec.platforms} | {g.id: g.id for g in spec.groups}
    for persona in PERSONAS:
        auth0.add_user(
            user_id=persona.user_id,
            email=persona.email,
            username=persona.username,
            password=DEMO_PASSWORD,
            email_verified=persona.email_verified,
            blocked=persona.blocked or None,
            name=persona.full_name,
            given_name=persona.given_name,
            family_name=persona.family_name,
            nickname=persona.username,
        )
        held = [
            roles[t.id] for t, status in persona.memberships if status in ("approved", "revoked")
        ]
        for name in [*held, *persona.roles]:
            auth0.assign_role(persona.user_id, auth0.role_id(name))


def fill_database(url: str) -> None:
    """Seed the catalog, sync the tenant in, then decide what is not approved."""
    with db.session_scope(url) as session:
        catalog.seed_catalog(session)
    sync.run_sync(mode="full")
    with db.session_scope(url) as session:
        results: list[TransitionResult] = []
        for persona in PERSONAS:
            results += _decide(session, persona)
        change_ids = memberships.pending_change_ids(session, results)
    followups.after_commit(change_ids, deliver_emails=False)  # the emails stay queued


def _decide(session: Session, persona: Persona) -> list[TransitionResult]:
    results = []
    for target, status in persona.memberships:
        admin = decider(target).user_id
        plan: dict[str, list[tuple[memberships.Action, str, str]]] = {
            "pending": [("request", persona.user_id, "For my research project.")],
            "rejected": [
                ("request", persona.user_id, "For my research project."),
                ("reject", admin, "Please apply with your institutional email address."),
            ],
            "revoked": [("revoke", admin, "The project has ended.")],
        }
        for action, actor, reason in plan.get(status, []):
            results.append(
                memberships.transition(
                    session,
                    user_id=persona.user_id,
                    target=target,
                    action=action,
                    actor=actor,
                    reason=reason,
                )
            )
    return results
