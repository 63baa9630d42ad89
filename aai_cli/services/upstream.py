"""Asking a small JSON service that must answer clearly (the institution check, the
reCAPTCHA verify service): anything but a 200 with a JSON object carrying its boolean
verdict is no answer, and no answer is `ServiceUnavailable` for the caller, never a guess."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aai_cli.errors import ServiceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JsonService:
    """How to ask one service: `what` names it in the log, `verdict` is the boolean field
    every answer must carry, and `unavailable` is raised when there is no clear answer,
    naming the service as people know it (`for_people`)."""

    what: str
    verdict: str
    unavailable: type[ServiceUnavailable]
    for_people: str

    def no_answer(self) -> ServiceUnavailable:
        return self.unavailable(
            f"{self.for_people} is unavailable at the moment: please try again later"
        )

    def ask(self, method: str, url: str, *, timeout: float, **request: Any) -> dict[str, Any]:
        """The service's JSON object, its verdict a boolean; `no_answer()` raised otherwise."""
        import httpx

        try:
            response = httpx.request(
                method, url, timeout=timeout, follow_redirects=False, **request
            )
        except httpx.HTTPError as exc:
            log.warning("%s failed: %s", self.what, type(exc).__name__)
            raise self.no_answer() from None
        body: Any = None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            log.warning("%s gave no clear answer (HTTP %s)", self.what, response.status_code)
            raise self.no_answer()
        if not isinstance(body.get(self.verdict), bool):
            log.warning("%s gave no clear answer (no boolean %s)", self.what, self.verdict)
            raise self.no_answer()
        return body
