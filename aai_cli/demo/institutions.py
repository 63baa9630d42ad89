"""The demo's institution check, on loopback: an address is an Australian research
institution's when its domain ends in `.edu.au` (the real check asks Galaxy Australia)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aai_cli.localauth0.serving import JsonHandler, LocalServer

PATH = "/institution/validate"
SUFFIX = ".edu.au"


def answer(_method: str, path: str, _body: bytes) -> tuple[int, Any]:
    parts = urlsplit(path)
    if parts.path != PATH:
        return 404, {"detail": "Not Found"}
    email = parse_qs(parts.query).get("email", [""])[0]
    domain = email.rpartition("@")[2].strip().lower()
    return 200, {"valid": domain.endswith(SUFFIX)}


class DemoInstitutions(LocalServer):
    def start(self) -> DemoInstitutions:
        return self._serve(ThreadingHTTPServer(("127.0.0.1", 0), JsonHandler.answering(answer)))

    @property
    def url(self) -> str:
        return f"{self.origin}{PATH}"
