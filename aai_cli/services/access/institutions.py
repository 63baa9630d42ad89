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
from typing import TYPE_CHECKING

from aai_cli.errors import ServiceUnavailable
from aai_cli.settings import Settings, get_settings

if TYPE_CHECKING:
    import httpx

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


def _ask(settings: Settings, email: str) -> bool:
    import httpx

    unavailable = InstitutionCheckUnavailable(
        "the institution check is unavailable at the moment: please try again later"
    )
    try:
        response = httpx.get(
            settings.institution_check_url,
            params={"email": email},
            timeout=settings.institution_check_timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        log.warning("institution check failed: %s", type(exc).__name__)
        raise unavailable from None
    valid = _valid(response)
    if valid is None:
        log.warning("institution check gave no clear answer (HTTP %s)", response.status_code)
        raise unavailable
    return valid


def _valid(response: httpx.Response) -> bool | None:
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    valid = body.get("valid") if isinstance(body, dict) else None
    return valid if isinstance(valid, bool) else None
