"""Which email addresses belong to an Australian research institution.

The rule today is a list: the domains in `SBP_ALLOWED_EMAIL_DOMAINS` (exact match, no
subdomains) and BioCommons' own domain. Groups listed in `INSTITUTIONAL_GROUPS` are open
only to such addresses, both at registration and when a signed-in user asks for them.
"""

from __future__ import annotations

from aai_cli.settings import get_settings

BIOCOMMONS_DOMAIN = "biocommons.org.au"
INSTITUTIONAL_GROUPS = frozenset({"biocommons/group/sbp_workflow_execution"})
INSTITUTIONAL_EMAIL_REQUIRED = (
    "SBP workflow execution requires an Australian institutional email address."
)


def email_domain(email: str | None) -> str:
    """The lower-cased domain of an address ("" when there is none)."""
    local, at, domain = (email or "").strip().rpartition("@")
    return domain.lower() if at and local else ""


def institutional_email(email: str | None) -> bool:
    """Whether `email` is at an Australian research institution (or BioCommons)."""
    domain = email_domain(email)
    if not domain:
        return False
    return domain == BIOCOMMONS_DOMAIN or domain in get_settings().sbp_allowed_email_domains
