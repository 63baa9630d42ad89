"""Asking a small JSON service that must answer clearly (the institution check, the
reCAPTCHA verify service): anything but a 200 with a JSON object is no answer, and no
answer is `ServiceUnavailable` for the caller, never a guess."""

from __future__ import annotations

import logging
from typing import Any

from aai_cli.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def ask_json(
    method: str,
    url: str,
    *,
    what: str,
    unavailable: ServiceUnavailable,
    timeout: float,
    **request: Any,
) -> dict[str, Any]:
    """The service's JSON object; `unavailable` raised (and `what` logged) otherwise."""
    import httpx

    try:
        response = httpx.request(method, url, timeout=timeout, follow_redirects=False, **request)
    except httpx.HTTPError as exc:
        log.warning("%s failed: %s", what, type(exc).__name__)
        raise unavailable from None
    body: Any = None
    if response.status_code == 200:
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        log.warning("%s gave no clear answer (HTTP %s)", what, response.status_code)
        raise unavailable
    return body
