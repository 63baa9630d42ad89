"""`.aai-demo.json`: what a running demo tells the `aai demo` commands started from the same
directory (where the API and the local Auth0 listen, the client, the personas). Written
when the demo is ready, removed when it stops; a file left by a killed demo is ignored."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aai_cli.errors import ServiceUnavailable

STATE_FILE = ".aai-demo.json"
DEMO_DB = "demo.db"


@dataclass
class DemoState:
    api_url: str
    auth0_url: str
    domain: str
    client_id: str  # the portal's application (public: authorization code with PKCE)
    audience: str
    management_id: str
    management_secret: str
    database_url: str
    pid: int
    personas: list[dict[str, Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """What `aai demo info --json` prints."""
        return {
            "api_url": self.api_url,
            "auth0_url": self.auth0_url,
            "client_id": self.client_id,
            "audience": self.audience,
            "issuer": f"{self.auth0_url}/",
            "personas": self.personas,
        }

    def env(self) -> dict[str, str]:
        """The variables that point another `aai` command (a sync, `aai users`) at the demo."""
        return {
            "DB_URL": self.database_url,
            "AUTH0_DOMAIN": self.domain,
            "AUTH0_BASE_URL": self.auth0_url,
            "AUTH0_MANAGEMENT_ID": self.management_id,
            "AUTH0_MANAGEMENT_SECRET": self.management_secret,
            "AUTH0_AUDIENCE": self.audience,
            "AUTH0_ISSUER": f"{self.auth0_url}/",
        }


def write(state: DemoState, directory: Path) -> Path:
    path = directory / STATE_FILE
    temporary = path.with_suffix(".tmp")
    # it holds the local Auth0's client secret: readable by its owner only
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(state), handle, indent=2)
    temporary.replace(path)
    return path


def remove(directory: Path, pid: int) -> None:
    """Remove the file if it is this process's."""
    found = _load(directory / STATE_FILE)
    if found is not None and found.pid == pid:
        (directory / STATE_FILE).unlink(missing_ok=True)


def running(directory: Path) -> DemoState | None:
    """The state of a demo running from `directory`, if one does."""
    found = _load(directory / STATE_FILE)
    return found if found is not None and _alive(found.pid) else None


def require_running(directory: Path) -> DemoState:
    found = running(directory)
    if found is None:
        raise ServiceUnavailable(
            f"no demo server runs from {directory}",
            hint="start one there with `aai serve --demo`",
        )
    return found


def _load(path: Path) -> DemoState | None:
    try:
        return DemoState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
