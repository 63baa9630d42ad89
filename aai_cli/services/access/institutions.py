"""Whether an email belongs to an Australian research institution: some bundles
(`INSTITUTIONAL_GROUPS`) are open only to such addresses, at registration and when a
signed-in user asks for them.

The answer comes from an institution-validation service (`INSTITUTION_CHECK_URL`, by
default Galaxy Australia's: `GET <url>?email=<address>` answers `{"valid": bool}`), except
for the domains always accepted: biocommons.org.au and `SBP_ALLOWED_EMAIL_DOMAINS` (exact
domain match). An answer that is not a clear yes or no (timeout, non-200, another body)
raises `InstitutionCheckUnavailable`: callers never read it as "no".
"""

from __future__ import annotations

import logging

from aai_cli.errors import ServiceUnavailable
from aai_cli.services.upstream import JsonService
from aai_cli.settings import Settings, get_settings

log = logging.getLogger(__name__)

ALWAYS_INSTITUTIONAL = frozenset({"biocommons.org.au"})
INSTITUTIONAL_GROUPS = frozenset({"biocommons/group/sbp_workflow_execution"})
INSTITUTIONAL_EMAIL_REQUIRED = (
    "SBP workflow execution requires an Australian institutional email address."
)


class InstitutionCheckUnavailable(ServiceUnavailable):
    """The institution-validation service gave no clear answer."""


def is_australian_research_institution(email: str, *, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    domain = email.rpartition("@")[2].strip().lower()
    if domain in ALWAYS_INSTITUTIONAL or domain in settings.sbp_allowed_email_domains:
        return True
    return _ask(settings, email)


INSTITUTION_CHECK = JsonService(
    what="institution check",
    verdict="valid",
    unavailable=InstitutionCheckUnavailable,
    for_people="the institution check",
)


def _ask(settings: Settings, email: str) -> bool:
    answer = INSTITUTION_CHECK.ask(
        "GET",
        settings.institution_check_url,
        timeout=settings.institution_check_timeout_s,
        params={"email": email},
    )
    return bool(answer["valid"])
