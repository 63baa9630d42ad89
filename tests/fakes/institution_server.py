"""A local institution-validation service (as Galaxy Australia's `/institution/validate`):
`GET /institution/validate?email=<address>` answers `{"valid": bool}`, true when the
email's domain (or a parent domain) is in `institutional_domains`.

Knobs: `institutional_domains`, `answer_next(status, body)` (the next answer, e.g. a 500 or
a body without `valid`); `requests` lists the emails asked about.

Fixture `institution_env`: the server, reset, with INSTITUTION_CHECK_URL pointing at it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.fakes.json_service import FakeJsonService, Reply, fake_fixtures


class FakeInstitutions(FakeJsonService[str]):
    PATH = "/institution/validate"

    def reset(self) -> None:
        super().reset()
        self.institutional_domains: set[str] = {"uni.edu.au"}

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        parsed = urlparse(path)
        if parsed.path != self.PATH:
            return 404, {"detail": "Not Found"}
        email = parse_qs(parsed.query).get("email", [""])[0]
        return self._recorded(email, lambda: (200, {"valid": self._institutional(email)}))

    def _institutional(self, email: str) -> bool:
        parts = email.rpartition("@")[2].lower().split(".")
        parents = {".".join(parts[i:]) for i in range(len(parts))}
        return bool(parents & self.institutional_domains)

    def env(self) -> dict[str, str]:
        return {"INSTITUTION_CHECK_URL": self.url}


_institution_env_server, institution_env = fake_fixtures(FakeInstitutions, "institution_env")
