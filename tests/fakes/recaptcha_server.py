"""A local reCAPTCHA verify service (as Google's `siteverify`): `POST /recaptcha/api/siteverify`
with a form body `secret`, `response` answers `{"success", "challenge_ts", "hostname",
"error-codes"}` as Google documents it.

The secret must be `SECRET` (else `invalid-input-secret`); a missing token is
`missing-input-response`; a token in `refused` (or any token when `single_use` is on and it
was seen before) is `invalid-input-response` / `timeout-or-duplicate`; every other token
passes, solved on `hostname`.

Knobs: `refused`, `hostname`, `single_use`, `answer_next(status, body)` (the next answer as
given, e.g. a 500 or a body without `success`); `requests` lists the forms received.

Fixture `recaptcha_env`: the server, reset, with RECAPTCHA_SECRET and RECAPTCHA_VERIFY_URL
pointing at it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from tests.fakes.json_service import FakeJsonService, Reply, fake_fixtures

SECRET = "local-recaptcha-secret"


class FakeRecaptcha(FakeJsonService[dict[str, str]]):
    PATH = "/recaptcha/api/siteverify"

    def reset(self) -> None:
        super().reset()
        self.refused: set[str] = set()
        self.hostname = "portal.test"
        self.single_use = False
        self._seen: set[str] = set()

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        if method != "POST" or path != self.PATH:
            return 404, {"error": "not found"}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        return self._recorded(form, lambda: (200, self._verdict(form)))

    def _verdict(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("secret") != SECRET:
            return {"success": False, "error-codes": ["invalid-input-secret"]}
        token = form.get("response", "")
        if not token:
            return {"success": False, "error-codes": ["missing-input-response"]}
        if token in self.refused:
            return {"success": False, "error-codes": ["invalid-input-response"]}
        if self.single_use and token in self._seen:
            return {"success": False, "error-codes": ["timeout-or-duplicate"]}
        self._seen.add(token)
        return {
            "success": True,
            "challenge_ts": "2026-12-06T00:00:00Z",
            "hostname": self.hostname,
            "error-codes": [],
        }

    def env(self) -> dict[str, str]:
        return {"RECAPTCHA_SECRET": SECRET, "RECAPTCHA_VERIFY_URL": self.url}


_recaptcha_env_server, recaptcha_env = fake_fixtures(FakeRecaptcha, "recaptcha_env")
