"""The demo people: one per state the portal shows, and an admin of every kind.

A persona's memberships name the status it ends in; `seed` gets there through the real
decisions (a request, a rejection, a revocation), so each has its history.
"""

from __future__ import annotations

from dataclasses import dataclass

from aai_cli.models import Target

DEMO_PASSWORD = "demo-password-1!"  # every persona's, for the password grant
SUPER_ADMIN_ROLE = "biocommons/role/biocommons/admin"
GALAXY = Target("platform", "galaxy")
BPA = Target("platform", "bpa_data_portal")
SBP = Target("platform", "sbp")
TSI = Target("group", "biocommons/group/tsi")
SBP_BUNDLE = Target("group", "biocommons/group/sbp_workflow_execution")


@dataclass(frozen=True)
class Persona:
    name: str  # what `aai demo token --as` takes
    username: str
    given_name: str
    family_name: str
    description: str
    memberships: tuple[tuple[Target, str], ...] = ()  # (target, the status it ends in)
    roles: tuple[str, ...] = ()  # admin roles held in Auth0
    email_verified: bool = True
    blocked: bool = False

    @property
    def user_id(self) -> str:
        return f"auth0|demo-{self.username}"

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


PERSONAS: tuple[Persona, ...] = (
    Persona("user", "ada", "Ada", "Lovelace",
            "a user: Galaxy, BPA and the TSI bundle approved, SBP pending",
            ((GALAXY, "approved"), (BPA, "approved"), (TSI, "approved"), (SBP, "pending"))),
    Persona("applicant", "grace", "Grace", "Hopper",
            "waiting: SBP and the SBP bundle pending, Galaxy approved",
            ((GALAXY, "approved"), (SBP, "pending"), (SBP_BUNDLE, "pending"))),
    Persona("rejected", "alan", "Alan", "Turing",
            "turned down: SBP and the TSI bundle rejected",
            ((GALAXY, "approved"), (SBP, "rejected"), (TSI, "rejected"))),
    Persona("revoked", "katherine", "Katherine", "Johnson",
            "access taken back: Galaxy, SBP and the TSI bundle revoked",
            ((GALAXY, "revoked"), (SBP, "revoked"), (TSI, "revoked"))),
    Persona("unverified", "barbara", "Barbara", "Liskov",
            "has not verified her email; Galaxy approved",
            ((GALAXY, "approved"),), email_verified=False),
    Persona("blocked", "edsger", "Edsger", "Dijkstra",
            "blocked in Auth0 (cannot log in); Galaxy and SBP approved",
            ((GALAXY, "approved"), (SBP, "approved")), blocked=True),
    Persona("galaxy-admin", "rosalind", "Rosalind", "Franklin",
            "platform admin of Galaxy",
            ((GALAXY, "approved"),), roles=("biocommons/role/galaxy/admin",)),
    Persona("bpa-admin", "dorothy", "Dorothy", "Hodgkin",
            "platform admin of the BPA Data Portal",
            ((BPA, "approved"),), roles=("biocommons/role/bpa_data_portal/admin",)),
    Persona("sbp-admin", "max", "Max", "Perutz",
            "platform admin of SBP (and so of the SBP bundle)",
            ((SBP, "approved"),), roles=("biocommons/role/sbp/admin",)),
    Persona("tsi-admin", "rachel", "Rachel", "Carson",
            "bundle admin of the TSI and SBP bundles",
            ((TSI, "approved"), (GALAXY, "approved")),
            roles=("biocommons/role/tsi/admin", "biocommons/role/sbp_workflow_execution/admin")),
    Persona("super-admin", "tim", "Tim", "Berners-Lee",
            "super-admin (ADMIN_ROLES): administers everything",
            roles=(SUPER_ADMIN_ROLE,)),
)  # fmt: skip


def find(name: str) -> Persona | None:
    return next((p for p in PERSONAS if p.name == name), None)


def decider(target: Target) -> Persona:
    """Who decides a persona's request to `target` in the seeded history: its admin."""
    admins = {
        GALAXY: "galaxy-admin",
        BPA: "bpa-admin",
        SBP: "sbp-admin",
        SBP_BUNDLE: "sbp-admin",
        TSI: "tsi-admin",
    }
    return find(admins.get(target, "super-admin")) or PERSONAS[-1]
